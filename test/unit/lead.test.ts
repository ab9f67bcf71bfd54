import { LeadValidationError, normalizeLead, parseLead } from '../../nodes/shared/lead';
import { newTraceId } from '../../nodes/shared/trace';

const base = () => ({
	traceId: newTraceId(),
	source: { channel: 'WEBSITE' as const, id: 'contact-form' },
	receivedAt: '2026-11-22T10:00:00.000Z',
	raw: { any: 'thing' },
});

describe('normalizeLead', () => {
	test('phone to E.164 with the default country, email lowercased, blanks dropped', () => {
		const result = normalizeLead(
			{ ...base(), name: '  Asha  ', phone: '098450 98450', email: ' Asha@Example.COM ', destination: '' },
			{ defaultCountry: 'IN' },
		);
		expect(result).toEqual({
			ok: true,
			value: expect.objectContaining({
				name: 'Asha',
				phone: '+919845098450',
				waId: '919845098450',
				email: 'asha@example.com',
			}),
		});
		expect(result.ok && 'destination' in result.value).toBe(false);
	});

	test('reports every bad field at once, by name', () => {
		const result = normalizeLead({
			...base(),
			traceId: 'x',
			phone: '12',
			email: 'not-an-email',
			source: { channel: 'FAX' as never },
		});
		expect(result.ok).toBe(false);
		const fields = result.ok ? [] : result.errors.map((e) => e.field);
		expect(fields.sort()).toEqual(['email', 'phone', 'source.channel', 'traceId']);
		const messages = result.ok ? '' : JSON.stringify(result.errors);
		expect(messages).toContain('WEBSITE, WHATSAPP, WHATSAPP_BOT, INSTAGRAM_BOT');
		expect(messages).toContain('must be an email address');
	});

	test('a lead nobody can reach is refused on phone', () => {
		const result = normalizeLead({ ...base(), name: 'Nobody' });
		expect(result).toEqual({
			ok: false,
			errors: [{ field: 'phone', message: expect.stringMatching(/needs a phone, an email or a channel user id/) }],
		});
	});

	test('an Instagram lead needs no phone', () => {
		const result = normalizeLead({
			...base(),
			source: { channel: 'INSTAGRAM_BOT', messageId: 'm_1' },
			instagramUserId: '1784',
			message: 'price?',
		});
		expect(result.ok).toBe(true);
	});
});

describe('parseLead', () => {
	test('refuses a phone that is not E.164', () => {
		const result = parseLead({ ...base(), phone: '9845098450' });
		expect(result).toEqual({ ok: false, errors: [{ field: 'phone', message: expect.stringMatching(/E\.164/) }] });
	});

	test('LeadValidationError lists the fields in its message', () => {
		const error = new LeadValidationError([
			{ field: 'phone', message: 'is bad' },
			{ field: '', message: 'whole thing' },
		]);
		expect(error.message).toBe('Invalid lead: phone is bad; (lead) whole thing');
	});
});
