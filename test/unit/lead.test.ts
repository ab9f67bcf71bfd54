import { capRaw, LeadValidationError, normalizeLead, parseLead, sanitizePayload } from '../../nodes/shared/lead/lead';
import { newTraceId } from '../../nodes/shared/lead/trace';

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

describe('sanitizePayload / capRaw', () => {
	test('drops constructor / __proto__ / prototype at every depth, keeps the rest', () => {
		const parsed = JSON.parse('{"a":1,"__proto__":{"x":1},"b":[{"constructor":2,"c":3}],"d":{"prototype":{},"e":null}}');
		const clean = sanitizePayload(parsed);
		expect(clean).toEqual({ a: 1, b: [{ c: 3 }], d: { e: null } });
		expect(Object.getPrototypeOf(clean)).toBe(Object.prototype);
		expect(() => structuredClone(clean)).not.toThrow();
	});

	test('a payload nested thousands deep does not overflow the stack', () => {
		const deep = JSON.parse('['.repeat(5000) + ']'.repeat(5000));
		expect(() => sanitizePayload(deep)).not.toThrow();
	});

	test('capRaw: size and depth caps, or nothing', () => {
		expect(capRaw({ a: { b: { c: 1 } } }, { include: true, maxBytes: 1000, maxDepth: 2 })).toEqual({ a: { b: '[cut: deeper than 2 levels]' } });
		expect(capRaw({ s: 'x'.repeat(100) }, { include: true, maxBytes: 50, maxDepth: 5 })).toEqual({ truncated: true, reason: expect.stringMatching(/50-byte cap/), bytes: 108 });
		expect(capRaw({ a: 1 }, { include: false, maxBytes: 50, maxDepth: 5 })).toBeUndefined();
	});
});
