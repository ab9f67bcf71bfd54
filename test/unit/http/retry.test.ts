import {
	backoffDelay,
	classifyStatus,
	parseRetryAfter,
	withRetries,
	type AttemptResult,
	type Clock,
} from '../../../nodes/shared/http';

/** A clock that records sleeps and advances instantly. */
function fakeClock(start = 1_700_000_000_000): Clock & { slept: number[] } {
	let now = start;
	const slept: number[] = [];
	return {
		slept,
		now: () => now,
		sleep: async (ms) => {
			slept.push(ms);
			now += ms;
		},
	};
}

describe('classifyStatus', () => {
	test.each([
		[200, 'success'],
		[204, 'success'],
		[299, 'success'],
		[301, 'permanent'],
		[302, 'permanent'],
		[307, 'permanent'],
		[400, 'permanent'],
		[401, 'permanent'],
		[404, 'permanent'],
		[408, 'retryable'],
		[410, 'gone'],
		[413, 'permanent'],
		[429, 'retryable'],
		[500, 'retryable'],
		[502, 'retryable'],
		[503, 'retryable'],
		[504, 'retryable'],
	])('%i → %s', (status, verdict) => expect(classifyStatus(status)).toBe(verdict));
});

describe('parseRetryAfter', () => {
	const now = Date.parse('2025-01-01T00:00:00Z');
	test('delta seconds', () => {
		expect(parseRetryAfter('120', now)).toBe(120_000);
		expect(parseRetryAfter(' 0 ', now)).toBe(0);
		expect(parseRetryAfter(['3', '9'], now)).toBe(3000);
	});
	test('HTTP-date, relative to the injected now; past dates mean now', () => {
		expect(parseRetryAfter('Wed, 01 Jan 2025 00:00:30 GMT', now)).toBe(30_000);
		expect(parseRetryAfter('Tue, 31 Dec 2024 23:00:00 GMT', now)).toBe(0);
	});
	test('capped', () => {
		expect(parseRetryAfter('999999', now, 60_000)).toBe(60_000);
		expect(parseRetryAfter('Fri, 01 Jan 2100 00:00:00 GMT', now, 60_000)).toBe(60_000);
		expect(parseRetryAfter('86400', now)).toBe(3_600_000);
	});
	test('garbage and absence', () => {
		expect(parseRetryAfter(undefined, now)).toBeUndefined();
		expect(parseRetryAfter('', now)).toBeUndefined();
		expect(parseRetryAfter('-5', now)).toBeUndefined();
		expect(parseRetryAfter('1.5', now)).toBeUndefined();
		expect(parseRetryAfter('soon', now)).toBeUndefined();
	});
});

describe('backoffDelay', () => {
	test('exponential without jitter doubles from the base: 1 s → 2 s → 4 s', () => {
		const schedule = { kind: 'exponential' as const, baseMs: 1000, jitter: 0 };
		expect([2, 3, 4].map((n) => backoffDelay(schedule, n))).toEqual([1000, 2000, 4000]);
	});
	test('jitter stays within ±ratio and really varies', () => {
		const schedule = { kind: 'exponential' as const, baseMs: 1000, jitter: 0.2 };
		expect(backoffDelay(schedule, 3, () => 0)).toBe(1600);
		expect(backoffDelay(schedule, 3, () => 0.999999)).toBe(2400);
		expect(backoffDelay(schedule, 3, () => 0.5)).toBe(2000);
		const seen = new Set(Array.from({ length: 50 }, () => backoffDelay(schedule, 2)));
		expect(seen.size).toBeGreaterThan(10);
		for (const ms of seen) expect(ms >= 800 && ms <= 1200).toBe(true);
	});
	test('maxMs caps one wait', () => {
		expect(backoffDelay({ kind: 'exponential', baseMs: 1000, maxMs: 5000 }, 10)).toBe(5000);
	});
	test('custom list; the last value repeats', () => {
		const schedule = { kind: 'list' as const, delaysMs: [5000, 300_000, 1_800_000] };
		expect([2, 3, 4, 5, 6].map((n) => backoffDelay(schedule, n))).toEqual([5000, 300_000, 1_800_000, 1_800_000, 1_800_000]);
		expect(backoffDelay({ kind: 'list', delaysMs: [] }, 2)).toBe(0);
	});
});

describe('withRetries', () => {
	const schedule = { kind: 'exponential' as const, baseMs: 1000, jitter: 0 };
	const script = (verdicts: AttemptResult[]) => {
		const calls: number[] = [];
		const attempt = async (n: number) => {
			calls.push(n);
			return verdicts[calls.length - 1];
		};
		return { calls, attempt };
	};

	test('retries retryable attempts on the schedule until success', async () => {
		const clock = fakeClock();
		const { calls, attempt } = script([{ verdict: 'retryable' }, { verdict: 'retryable' }, { verdict: 'success' }]);
		const outcome = await withRetries(attempt, { attempts: 3, schedule, clock });
		expect(outcome.status).toBe('success');
		expect(calls).toEqual([1, 2, 3]);
		expect(clock.slept).toEqual([1000, 2000]);
	});

	test('Retry-After longer than the schedule wins', async () => {
		const clock = fakeClock();
		const { attempt } = script([{ verdict: 'retryable', retryAfterMs: 7000 }, { verdict: 'success' }]);
		await withRetries(attempt, { attempts: 3, schedule, clock });
		expect(clock.slept).toEqual([7000]);
	});

	test('gone and permanent stop at once; exhausted after the last attempt', async () => {
		for (const verdict of ['gone', 'permanent'] as const) {
			const clock = fakeClock();
			const { calls, attempt } = script([{ verdict }, { verdict: 'success' }]);
			expect((await withRetries(attempt, { attempts: 3, schedule, clock })).status).toBe(verdict);
			expect(calls).toEqual([1]);
			expect(clock.slept).toEqual([]);
		}
		const clock = fakeClock();
		const { calls, attempt } = script([{ verdict: 'retryable' }, { verdict: 'retryable' }, { verdict: 'retryable' }]);
		const outcome = await withRetries(attempt, { attempts: 3, schedule, clock });
		expect(outcome.status).toBe('exhausted');
		expect(outcome.attempts).toHaveLength(3);
		expect(calls).toEqual([1, 2, 3]);
	});

	test('a wait over maxInlineWaitMs is not slept: deferred with the due time and next attempt number', async () => {
		const clock = fakeClock(1000);
		const { calls, attempt } = script([{ verdict: 'retryable' }, { verdict: 'retryable' }]);
		const outcome = await withRetries(attempt, {
			attempts: 5,
			schedule: { kind: 'list', delaysMs: [500, 60_000] },
			maxInlineWaitMs: 5000,
			clock,
		});
		expect(calls).toEqual([1, 2]);
		expect(clock.slept).toEqual([500]);
		expect(outcome).toMatchObject({ status: 'deferred', nextAttempt: 3, nextAttemptAt: 1000 + 500 + 60_000 });
	});

	test('firstAttempt continues a deferred schedule', async () => {
		const clock = fakeClock();
		const { calls, attempt } = script([{ verdict: 'retryable' }, { verdict: 'retryable' }]);
		const outcome = await withRetries(attempt, { attempts: 4, schedule, clock, firstAttempt: 3 });
		expect(calls).toEqual([3, 4]);
		expect(clock.slept).toEqual([4000]);
		expect(outcome.status).toBe('exhausted');
	});
});

describe('parseDelayList', () => {
	const { parseDelayList } = jest.requireActual<typeof import('../../../nodes/shared/http')>('../../../nodes/shared/http');
	test('units ms, s, m, h; a bare number is seconds', () => {
		expect(parseDelayList('500ms, 5s, 5m, 30m, 2h, 1.5h, 10')).toEqual([500, 5000, 300_000, 1_800_000, 7_200_000, 5_400_000, 10_000]);
		expect(parseDelayList('')).toEqual([]);
	});
	test('a bad token is named', () => {
		expect(() => parseDelayList('5s, soon')).toThrow(/"soon" is not a delay/);
	});
});
