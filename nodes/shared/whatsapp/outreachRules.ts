import type Redis from 'ioredis';

import { isOpen, localTime, nextOpening, startOfNextDay, type BusinessHours } from './businessHours';
import type { WhatsAppKeys } from './keys';

/**
 * Outreach business rules: when a lead may be messaged (hours, holidays), how many per day
 * (target warns, maximum refuses; counted in Redis per local day) and how fast (an hourly token
 * bucket in Redis, shared by every run and instance on the namespace).
 *
 * Priority:
 *   low        stops at the daily target (leaves the rest of the day for better leads)
 *   normal     up to the daily maximum; may not dip into the rate reserve
 *   high       up to the daily maximum; may use the rate reserve (20 % of the hourly limit)
 *   immediate  like high, and ignores business hours (never the capacity)
 */
export const PRIORITIES = ['low', 'normal', 'high', 'immediate'] as const;
export type Priority = (typeof PRIORITIES)[number];

export interface OutreachRules {
	hours: BusinessHours;
	/** Outside hours: defer to the next opening, or refuse (Not Sent). */
	outsideHours: 'defer' | 'reject';
	/** Daily sends after which items carry a warning; 0 = no target. */
	dailyTarget: number;
	/** Daily sends after which items are deferred to the next day; 0 = no maximum. */
	dailyMax: number;
	/** Sends per rolling hour across all runs; 0 = no limit. */
	hourlyLimit: number;
}

export const RATE_RESERVE_SHARE = 0.2;

export type HoursVerdict = { open: true } | { open: false; nextOpening?: number; holiday: boolean };

export function checkHours(nowMs: number, rules: OutreachRules, priority: Priority): HoursVerdict {
	if (priority === 'immediate' || isOpen(nowMs, rules.hours)) return { open: true };
	return { open: false, nextOpening: nextOpening(nowMs, rules.hours), holiday: rules.hours.holidays.has(localTime(nowMs, rules.hours.timeZone).date) };
}

// INCR the day's counter unless that passes the cap; the counter lives two days (zone offsets).
const CAPACITY_SCRIPT = `
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], 172800) end
local cap = tonumber(ARGV[1])
if cap > 0 and n > cap then
  redis.call('DECR', KEYS[1])
  return {0, n - 1}
end
return {1, n}`;

// Token bucket: `capacity` tokens refilled evenly over an hour. Time comes from the caller's clock
// (tests fix it); a caller whose clock is behind the stored one gets no refill, never negative.
const BUCKET_SCRIPT = `
local capacity = tonumber(ARGV[1])
local perMs = capacity / 3600000
local now = tonumber(ARGV[2])
local reserve = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now
if now > at then
  tokens = math.min(capacity, tokens + (now - at) * perMs)
  at = now
end
local granted = 0
local wait = 0
if tokens >= 1 + reserve then
  tokens = tokens - 1
  granted = 1
else
  wait = math.ceil((1 + reserve - tokens) / perMs)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(at))
redis.call('PEXPIRE', KEYS[1], 7200000)
return {granted, wait}`;

export type CapacityVerdict =
	| { allowed: true; count: number; warning?: string }
	| { allowed: false; count: number; reason: string; retryAt: number };

export type RateVerdict = { allowed: true } | { allowed: false; retryAt: number; reason: string };

export class OutreachCounters {
	constructor(
		private readonly redis: Redis,
		private readonly keys: WhatsAppKeys,
	) {}

	/** Counts one send for today (local date in the rules' zone) unless the priority's cap is reached. */
	async takeDaily(nowMs: number, rules: OutreachRules, priority: Priority): Promise<CapacityVerdict> {
		const low = priority === 'low' && rules.dailyTarget > 0;
		const cap = low ? rules.dailyTarget : rules.dailyMax;
		const date = localTime(nowMs, rules.hours.timeZone).date;
		const [ok, count] = (await this.redis.eval(CAPACITY_SCRIPT, 1, this.keys.dailyCount(date), String(cap))) as [number, number];
		if (ok === 0) {
			const tomorrow = startOfNextDay(nowMs, rules.hours.timeZone);
			const reason = low
				? `daily target of ${cap} messages reached for ${date}; low-priority leads wait for the next day`
				: `daily capacity of ${cap} messages reached for ${date}`;
			return { allowed: false, count, reason, retryAt: nextOpening(tomorrow, rules.hours) ?? tomorrow };
		}
		const warning = rules.dailyTarget > 0 && count > rules.dailyTarget ? `daily target of ${rules.dailyTarget} passed (${count} sent on ${date})` : undefined;
		return { allowed: true, count, ...(warning ? { warning } : {}) };
	}

	/** Gives back a daily slot taken for a message that did not go out. */
	async releaseDaily(nowMs: number, rules: OutreachRules): Promise<void> {
		const key = this.keys.dailyCount(localTime(nowMs, rules.hours.timeZone).date);
		await this.redis.eval(`if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then return redis.call('DECR', KEYS[1]) end return 0`, 1, key);
	}

	async takeRate(nowMs: number, rules: OutreachRules, priority: Priority): Promise<RateVerdict> {
		if (rules.hourlyLimit <= 0) return { allowed: true };
		const reserve = priority === 'high' || priority === 'immediate' ? 0 : Math.floor(rules.hourlyLimit * RATE_RESERVE_SHARE);
		const [granted, wait] = (await this.redis.eval(BUCKET_SCRIPT, 1, this.keys.rateBucket(), String(rules.hourlyLimit), String(nowMs), String(reserve))) as [number, number];
		if (granted === 1) return { allowed: true };
		return { allowed: false, retryAt: nowMs + wait, reason: `hourly rate limit of ${rules.hourlyLimit} messages reached` };
	}

	/** Gives back a token taken for a message that did not go out. */
	async releaseRate(rules: OutreachRules): Promise<void> {
		if (rules.hourlyLimit <= 0) return;
		await this.redis.eval(
			`local t = tonumber(redis.call('HGET', KEYS[1], 'tokens')) if t then redis.call('HSET', KEYS[1], 'tokens', tostring(math.min(tonumber(ARGV[1]), t + 1))) end return 1`,
			1, this.keys.rateBucket(), String(rules.hourlyLimit),
		);
	}

	/** ms until this recipient may be messaged again after a pair-rate error (0 = now), on the caller's clock. */
	async pairRateWait(recipient: string, nowMs: number): Promise<number> {
		const until = Number(await this.redis.get(this.keys.pairRate(recipient)));
		return Number.isFinite(until) ? Math.max(0, until - nowMs) : 0;
	}

	/** Every run and instance holds off this recipient until `untilMs` (the key outlives it a little). */
	async markPairRate(recipient: string, untilMs: number, nowMs: number): Promise<void> {
		await this.redis.set(this.keys.pairRate(recipient), String(untilMs), 'PX', Math.max(1, untilMs - nowMs) + 60_000);
	}
}
