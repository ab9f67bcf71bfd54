import { createHash } from 'node:crypto';

import type Redis from 'ioredis';

import { systemClock, type Clock } from '../http';

/**
 * Per-credential call budget: at most `limit` calls start in any `windowMs` (LeadSquared counts
 * "N calls in 5 seconds" per plan). A token bucket with `limit` tokens where each spent token
 * comes back `windowMs` after it was spent, so bursts never exceed what the CRM's window allows.
 * Callers reserve a start time (possibly in the future) and sleep until it; reservations are
 * handed out in order, so concurrent callers queue fairly instead of all retrying at once.
 */
export interface RateLimit {
	limit: number;
	windowMs: number;
}

export const DEFAULT_RATE_LIMIT: RateLimit = { limit: 5, windowMs: 5_000 };

/**
 * Added to every window: the CRM counts arrivals, we count departures, and network jitter can
 * bring two calls a window apart at our end closer together at theirs.
 */
export const WINDOW_MARGIN_MS = 100;

/** The window the limiter enforces for a plan window. */
export function guardedWindow(windowMs: number): number {
	return windowMs + Math.max(WINDOW_MARGIN_MS, Math.round(windowMs * 0.02));
}

/** Waits longer than this are not queued: the call fails as transient and is redelivered later. */
export const DEFAULT_MAX_RATE_WAIT_MS = 60_000;

export class RateLimitQueueFullError extends Error {
	constructor(readonly waitMs: number) {
		super(`CRM rate limit: the next free call slot is ${Math.ceil(waitMs / 1000)} s away`);
		this.name = 'RateLimitQueueFullError';
	}
}

export interface RateLimiter {
	/** Resolves when this call may start; throws RateLimitQueueFullError beyond maxWaitMs. */
	acquire(): Promise<void>;
	/**
	 * The CRM said what the plan allows (LeadSquared's 429 text): use that budget from now on
	 * (for LEARNED_LIMIT_TTL_MS), for every execution sharing the credential.
	 */
	learn?(rate: RateLimit): Promise<void>;
}

/** How long a limit learned from the CRM's answer replaces the configured one. */
export const LEARNED_LIMIT_TTL_MS = 60 * 60 * 1000;

/**
 * LeadSquared's plan limit from its 429 text: "API calls exceeded the limit of 5 in 5 second(s)".
 * It sends no Retry-After, so this text is the only statement of the window to wait for.
 */
export function planLimitFromText(text: string): RateLimit | undefined {
	const match = /limit of\s+(\d+)\s+in\s+(\d+(?:\.\d+)?)\s*second/i.exec(text);
	if (!match) return undefined;
	const limit = Number(match[1]);
	const windowMs = Math.round(Number(match[2]) * 1000);
	return limit >= 1 && windowMs > 0 ? { limit, windowMs } : undefined;
}

/** The next start slot given the last `limit` reserved slots, newest first. */
export function nextSlot(recentNewestFirst: number[], now: number, rate: RateLimit): number {
	if (recentNewestFirst.length < rate.limit) return now;
	return Math.max(now, recentNewestFirst[rate.limit - 1] + guardedWindow(rate.windowMs));
}

/** Identifies a credential without carrying its secret: a hash of the identity parts. */
export function bucketKey(...identity: string[]): string {
	return createHash('sha256').update(identity.join('\u0000')).digest('hex').slice(0, 24);
}

// One table per process, so every execution (and every item) using one credential shares it.
const localSlots = new Map<string, number[]>();
const localLearned = new Map<string, { rate: RateLimit; until: number }>();

export class LocalRateLimiter implements RateLimiter {
	constructor(
		private readonly key: string,
		private readonly rate: RateLimit,
		private readonly clock: Clock = systemClock,
		private readonly maxWaitMs = DEFAULT_MAX_RATE_WAIT_MS,
	) {}

	async acquire(): Promise<void> {
		const now = this.clock.now();
		const learned = localLearned.get(this.key);
		const rate = learned && learned.until > now ? learned.rate : this.rate;
		const recent = localSlots.get(this.key) ?? [];
		const slot = nextSlot(recent, now, rate);
		if (slot - now > this.maxWaitMs) throw new RateLimitQueueFullError(slot - now);
		localSlots.set(this.key, [slot, ...recent].slice(0, Math.max(1, rate.limit, this.rate.limit)));
		if (slot > now) await this.clock.sleep(slot - now);
	}

	async learn(rate: RateLimit): Promise<void> {
		localLearned.set(this.key, { rate, until: this.clock.now() + LEARNED_LIMIT_TTL_MS });
	}
}

/** Test hook: forget the process-wide reservations. */
export function resetLocalRateLimits(): void {
	localSlots.clear();
	localLearned.clear();
}

// The same reservation as nextSlot, atomically in Redis with Redis's clock, so every n8n instance
// (main, workers) sharing the credential draws from one budget. The list holds the last `limit`
// reserved slots, newest first.
const RESERVE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local limit, window, maxWait = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
-- A plan limit the CRM stated (KEYS[2] = "limit window") replaces the configured one while it lasts.
local learned = redis.call('GET', KEYS[2])
if learned then
  local l, w = string.match(learned, '^(%d+) (%d+)$')
  if l then limit, window = tonumber(l), tonumber(w) end
end
local slot = now
if redis.call('LLEN', KEYS[1]) >= limit then
  local nth = tonumber(redis.call('LINDEX', KEYS[1], limit - 1))
  if nth + window > slot then slot = nth + window end
end
if slot - now > maxWait then return { -1, slot - now } end
redis.call('LPUSH', KEYS[1], slot)
redis.call('LTRIM', KEYS[1], 0, limit - 1)
redis.call('PEXPIRE', KEYS[1], window + (slot - now) + 1000)
return { 1, slot - now }
`;

export class RedisRateLimiter implements RateLimiter {
	constructor(
		private readonly redis: Redis,
		private readonly key: string,
		private readonly rate: RateLimit,
		private readonly clock: Clock = systemClock,
		private readonly maxWaitMs = DEFAULT_MAX_RATE_WAIT_MS,
	) {}

	async acquire(): Promise<void> {
		const [ok, waitMs] = (await this.redis.eval(RESERVE, 2, this.key, `${this.key}:plan`, this.rate.limit, guardedWindow(this.rate.windowMs), this.maxWaitMs)) as [number, number];
		if (ok !== 1) throw new RateLimitQueueFullError(waitMs);
		if (waitMs > 0) await this.clock.sleep(waitMs);
	}

	async learn(rate: RateLimit): Promise<void> {
		await this.redis.set(`${this.key}:plan`, `${rate.limit} ${guardedWindow(rate.windowMs)}`, 'PX', LEARNED_LIMIT_TTL_MS);
	}
}
