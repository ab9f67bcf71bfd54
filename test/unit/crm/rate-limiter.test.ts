import { guardedWindow, LocalRateLimiter, nextSlot, planLimitFromText, RateLimitQueueFullError, RedisRateLimiter, resetLocalRateLimits } from '../../../nodes/shared/crm/rateLimiter';
import type { Clock } from '../../../nodes/shared/http';
import { deletePrefix, testRedis, uniquePrefix } from '../../support/redis';

/** A clock that records waits and moves time forward instead of sleeping. */
function fakeClock(start = 1_000_000): Clock & { waits: number[] } {
	let now = start;
	const waits: number[] = [];
	return { waits, now: () => now, sleep: async (ms) => void (waits.push(ms), (now += ms)) };
}

const rate = { limit: 3, windowMs: 1_000 };
const W = guardedWindow(rate.windowMs);

test('nextSlot: free until `limit` calls, then the oldest of the last `limit` plus the (padded) window', () => {
	expect(nextSlot([], 10, rate)).toBe(10);
	expect(nextSlot([9, 8], 10, rate)).toBe(10);
	expect(nextSlot([9, 8, 7], 10, rate)).toBe(7 + W);
	expect(nextSlot([9, 8, 7], 7 + W + 5, rate)).toBe(7 + W + 5);
});

test('in-process: concurrent callers queue in order; never more than `limit` starts in any window', async () => {
	resetLocalRateLimits();
	const waits: number[] = [];
	// Time stands still: all seven ask at the same instant.
	const limiter = new LocalRateLimiter('k1', rate, { now: () => 0, sleep: async (ms) => void waits.push(ms) });
	await Promise.all(Array.from({ length: 7 }, () => limiter.acquire()));
	expect(waits).toEqual([W, W, W, 2 * W]);
});

test('in-process: a wait beyond the maximum is refused, not queued', async () => {
	resetLocalRateLimits();
	const clock = fakeClock();
	const limiter = new LocalRateLimiter('k2', { limit: 1, windowMs: 10_000 }, { now: clock.now, sleep: async () => undefined }, 5_000);
	await limiter.acquire();
	await expect(limiter.acquire()).rejects.toBeInstanceOf(RateLimitQueueFullError);
});

describe('in Redis (shared by every instance)', () => {
	const redis = testRedis();
	const prefix = uniquePrefix('crm-rate');
	afterAll(async () => {
		await deletePrefix(redis, prefix);
		redis.disconnect();
	});

	test('two limiters on one key (two n8n instances) share one budget', async () => {
		const a = fakeClock();
		const b = fakeClock();
		const one = new RedisRateLimiter(redis, `${prefix}shared`, rate, a);
		const two = new RedisRateLimiter(redis, `${prefix}shared`, rate, b);
		for (let i = 0; i < 3; i++) {
			await one.acquire();
			await two.acquire();
		}
		const waits = [...a.waits, ...b.waits].sort((x, y) => x - y);
		// Six calls, three per window: three start at once, three wait about one padded window.
		expect(waits).toHaveLength(3);
		for (const wait of waits) expect(wait).toBeGreaterThan(W - 100);
		for (const wait of waits) expect(wait).toBeLessThanOrEqual(W);
	});
});

test('planLimitFromText reads LeadSquared\'s 429 text; anything else gives nothing', () => {
	expect(planLimitFromText('API calls exceeded the limit of 5 in 5 second(s)')).toEqual({ limit: 5, windowMs: 5_000 });
	expect(planLimitFromText('exceeded the limit of 25 in 5 second(s)')).toEqual({ limit: 25, windowMs: 5_000 });
	expect(planLimitFromText('Too many requests')).toBeUndefined();
});

test('a learned plan limit replaces the configured one, in process and shared through Redis', async () => {
	resetLocalRateLimits();
	const clock = fakeClock();
	const local = new LocalRateLimiter('learn', { limit: 100, windowMs: 1_000 }, clock);
	await local.learn({ limit: 2, windowMs: 5_000 });
	for (let i = 0; i < 3; i++) await local.acquire();
	expect(clock.waits).toEqual([guardedWindow(5_000)]);
	const redis = testRedis();
	const key = `${uniquePrefix('rl-learn')}bucket`;
	try {
		const waits: number[] = [];
		const shared = new RedisRateLimiter(redis, key, { limit: 100, windowMs: 1_000 }, { now: () => Date.now(), sleep: async (ms) => void waits.push(ms) });
		await new RedisRateLimiter(redis, key, { limit: 100, windowMs: 1_000 }).learn({ limit: 2, windowMs: 5_000 });
		for (let i = 0; i < 3; i++) await shared.acquire();
		expect(waits).toHaveLength(1);
		expect(waits[0]).toBeGreaterThan(5_000);
	} finally {
		await deletePrefix(redis, key);
		redis.disconnect();
	}
});
