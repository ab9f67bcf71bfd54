import { normalizePhone, PhoneNumberError, phoneFromWaId, tryNormalizePhone } from '../../nodes/shared/lead/phone';

describe('normalizePhone', () => {
	test.each([
		['+91 98450 98450', undefined, '+919845098450'],
		['+91-9845098450', undefined, '+919845098450'],
		['098450 98450', 'IN', '+919845098450'],
		['07911 123456', 'GB', '+447911123456'],
		['0044 20 7946 0958', undefined, '+442079460958'],
		['00 91 98450 98450', 'GB', '+919845098450'],
		['(415) 555-2671', 'US', '+14155552671'],
		[919845098450, 'IN', '+919845098450'],
	] as const)('%s (default %s) → %s', (raw, country, e164) => {
		const phone = normalizePhone(raw, { defaultCountry: country });
		expect(phone.e164).toBe(e164);
		expect(phone.waId).toBe(e164.slice(1));
	});

	test('a national number with a trunk 0 and no default country is refused, saying why', () => {
		expect(() => normalizePhone('098450 98450')).toThrow(
			new PhoneNumberError('098450 98450', 'no country code and no default country to read it with'),
		);
	});

	test.each([
		['12', 'IN', /too short/],
		['+91 98450 98450 98450', undefined, /too long/],
		['call me', 'IN', /not a number/],
		['', 'IN', /empty/],
		['+1 555 000 0000', undefined, /no such number range/],
	] as const)('invalid %p → clear error', (raw, country, reason) => {
		expect(() => normalizePhone(raw, { defaultCountry: country })).toThrow(reason);
		expect(tryNormalizePhone(raw, { defaultCountry: country })).toBeUndefined();
	});

	test('non-string input is an error, not a crash', () => {
		expect(() => normalizePhone(undefined)).toThrow(PhoneNumberError);
		expect(() => normalizePhone({})).toThrow(PhoneNumberError);
	});
});

describe('phoneFromWaId', () => {
	test('reads WhatsApp digits as an international number', () => {
		expect(phoneFromWaId('919845098450')).toEqual({ e164: '+919845098450', waId: '919845098450', country: 'IN' });
	});

	test('Mexican wa_id with the mobile 1 maps to the dialable number and keeps the wa_id', () => {
		expect(phoneFromWaId('5215512345678')).toMatchObject({ e164: '+525512345678', waId: '5215512345678' });
	});

	test('Brazilian wa_id without the ninth digit maps to the current number', () => {
		expect(phoneFromWaId('551187654321')).toMatchObject({ e164: '+5511987654321', waId: '551187654321' });
	});

	test('rejects anything that is not 6-15 digits', () => {
		expect(() => phoneFromWaId('+919845098450')).toThrow(/6 to 15 digits/);
		expect(() => phoneFromWaId('12ab')).toThrow(PhoneNumberError);
	});
});
