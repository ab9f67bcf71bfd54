import { resolveMappings } from '../../../nodes/shared/crm/mapping';
import { canonicalPhone, phoneDigits, sameEmail, samePhone } from '../../../nodes/shared/crm/phoneMatch';

describe('CRM phone matching', () => {
	test('lookups send digits only', () => {
		expect(phoneDigits('+91-98450 98450')).toBe('919845098450');
		expect(phoneDigits(undefined)).toBe('');
	});

	test('numbers written differently are the same line; different numbers are not', () => {
		expect(samePhone('+91-98450 98450', '+919845098450')).toBe(true);
		expect(samePhone('+91-9845098450', '919845098450')).toBe(true);
		expect(samePhone('098450 98450', '+919845098450', 'IN')).toBe(true);
		expect(samePhone('+91-98450 98451', '+919845098450')).toBe(false);
		expect(samePhone('', '+919845098450')).toBe(false);
		expect(canonicalPhone('+44 7911 123456')).toBe('+447911123456');
	});

	test('emails match case-insensitively, blanks never match', () => {
		expect(sameEmail(' Ben@Example.com', 'ben@example.com')).toBe(true);
		expect(sameEmail('', '')).toBe(false);
	});
});

describe('CRM field mapping', () => {
	test('paths read the push context, anything else is a fixed text, empty values are left out', () => {
		const context = { lead: { name: 'Asha', email: undefined }, opportunity: { destination: 'Goa' }, traceId: 't1' };
		expect(
			resolveMappings(
				[
					{ field: 'FirstName', value: 'lead.name' },
					{ field: 'EmailAddress', value: 'lead.email' },
					{ field: 'mx_Custom_1', value: 'traceId' },
					{ field: 'mx_Dest', value: 'opportunity.destination' },
					{ field: 'Status', value: 'Open' },
					{ field: 'Note', value: 'lead name here' },
					{ field: '', value: 'ignored' },
				],
				context,
			),
		).toEqual([
			{ field: 'FirstName', value: 'Asha' },
			{ field: 'mx_Custom_1', value: 't1' },
			{ field: 'mx_Dest', value: 'Goa' },
			{ field: 'Status', value: 'Open' },
			{ field: 'Note', value: 'lead name here' },
		]);
	});
});
