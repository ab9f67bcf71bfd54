import { isTraceId, newTraceId, traceIdTime } from '../../nodes/shared/lead/trace';

describe('trace ids', () => {
	test('are 26 Crockford base32 characters carrying their creation time', () => {
		const now = Date.UTC(2026, 10, 22, 10, 0, 0, 123);
		const id = newTraceId(now);
		expect(isTraceId(id)).toBe(true);
		expect(traceIdTime(id)).toBe(now);
	});

	test('sort in creation order, also many within one millisecond', () => {
		const ids = Array.from({ length: 5000 }, () => newTraceId());
		expect([...ids].sort()).toEqual(ids);
		expect(new Set(ids).size).toBe(ids.length);
	});

	test('a clock that steps back does not break the order', () => {
		const a = newTraceId(Date.now() + 10_000);
		const b = newTraceId(Date.now());
		expect(b > a).toBe(true);
	});

	test('rejects look-alikes', () => {
		expect(isTraceId('01ARZ3NDEKTSV4RRFFQ69G5FAV')).toBe(true);
		expect(isTraceId('01ARZ3NDEKTSV4RRFFQ69G5FAI')).toBe(false);
		expect(isTraceId('short')).toBe(false);
		expect(() => traceIdTime('nope')).toThrow(/not a trace id/);
	});
});
