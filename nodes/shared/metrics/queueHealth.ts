import type Redis from 'ioredis';

import { DEFAULT_THRESHOLDS, queueInfo, type QueueInfo, type Thresholds, dlqStreamName, pauseKey } from '../queue';
import { deadLetterHealth, warnsNearCap, type DeadLetterHealth, type DeadLetterRef } from './deadLetters';

export interface HealthThresholds extends Thresholds {
	/** Red when the oldest unacknowledged entry was added longer ago than this. */
	oldestPendingSeconds: number;
}

export const DEFAULT_HEALTH_THRESHOLDS: HealthThresholds = { ...DEFAULT_THRESHOLDS, oldestPendingSeconds: 300 };

export interface QueueRef {
	stream: string;
	group: string;
	/** Empty = DLQ<Stream><Group>, as the consumer trigger names it. */
	dlqStream?: string;
	/** The consumer's Dead-Letter Cap; 0 or absent = none. Red from 80 % of it. */
	dlqCap?: number;
}

export interface ConsumerHealth {
	name: string;
	/** Entries delivered to this consumer and not yet acknowledged: its work in flight. */
	pending: number;
	/** Since its last read or claim attempt. */
	idleMs: number;
}

export interface QueueHealth extends QueueInfo {
	paused: boolean;
	pausedBy?: string;
	pausedAt?: string;
	/** = pending: delivered to a consumer, not yet acknowledged. */
	inFlight: number;
	consumerDetails: ConsumerHealth[];
	/** The lowest pending id: its age comes from the id (when it was added), idle from its last delivery. */
	oldestPending: { id: string; ageMs: number; idleMs: number; deliveries: number; consumer: string } | null;
	/**
	 * Entries added to the stream in the last windowMs, from entries-added samples (see
	 * ADDED_SCRIPT): exact when a read fell on the window's start, else interpolated between the
	 * reads around it. A first read counts ids up to `cap`; at the cap it is a lower bound
	 * (capped: true) until a sample a window old replaces it.
	 */
	throughput: { windowMs: number; added: number; capped: boolean; cap: number };
	/** Age of the oldest dead letter, from its id. */
	dlqOldestAgeMs: number | null;
	alerts: QueueInfo['alerts'] & { oldestPending: boolean };
	state: 'ok' | 'red';
	/** Set when this queue could not be read (e.g. the key is not a stream); the others still are. */
	error?: string;
}

export interface HealthReport {
	/** Redis' clock when read (ISO): ages are measured against it, not the n8n host's clock. */
	at: string;
	queues: QueueHealth[];
	/** Dead-letter streams outside the queues' groups (present when any were asked for). */
	deadLetters?: DeadLetterHealth[];
	alerting: boolean;
}

/** Where a queue's entries-added samples are kept (beside the stream, like its pause flag). */
export function addedSamplesKey(stream: string): string {
	return `${stream}:addedSamples`;
}

/**
 * "Added in the last window" in O(1) per read, on Redis' own clock (stream ids are Redis ms, so a
 * skewed n8n host still counts the right minute). Each read samples XINFO STREAM's entries-added
 * (Redis 7: every entry ever added, whatever trimming removed since) into a sorted set of
 * "<ms>:<entries-added>:<capped>" members beside the stream, and compares with the count at the
 * window's start, interpolated between the samples around it. Only what it still needs is kept:
 * the newest sample at or before the window's start and those after it; the set expires when no
 * one reads it. Without a sample a window old (the first read of a queue, after the set expired,
 * or when the stream was deleted and created again), it counts entry ids once, up to the cap, and
 * keeps that as a sample at the window's start. Redis 6.2 has no entries-added: ids are counted on
 * every read, as before.
 * KEYS: stream, samples. ARGV: windowMs, cap, keepMs. Reply: { added, nowMs, capped 0|1 }.
 */
const ADDED_SCRIPT = `
local t = redis.call('TIME')
local nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local cap = tonumber(ARGV[2])
local cutoff = nowMs - tonumber(ARGV[1])
local function num(x) return string.format('%.0f', x) end
local function countIds()
	return #redis.call('XRANGE', KEYS[1], num(cutoff) .. '-0', '+', 'COUNT', cap)
end
local info = redis.call('XINFO', 'STREAM', KEYS[1])
local total
for i = 1, #info, 2 do
	if info[i] == 'entries-added' then total = tonumber(info[i + 1]) end
end
if not total then
	local added = countIds()
	return { added, num(nowMs), added >= cap and 1 or 0 }
end
local function parse(member)
	local at, entries, capped = string.match(member, '^(%d+):(%d+):(%d)$')
	return { tonumber(at), tonumber(entries), capped == '1' }
end
local newest = redis.call('ZREVRANGE', KEYS[2], 0, 0)[1]
if newest and parse(newest)[2] > total then
	redis.call('DEL', KEYS[2])
end
local base = redis.call('ZREVRANGEBYSCORE', KEYS[2], num(cutoff), '-inf', 'LIMIT', 0, 1)[1]
local added, capped
if base then
	local b = parse(base)
	local after = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. num(cutoff), '+inf', 'LIMIT', 0, 1)[1]
	local n = after and parse(after) or { nowMs, total, false }
	local atCutoff = b[2]
	if n[1] > b[1] then atCutoff = b[2] + (n[2] - b[2]) * (cutoff - b[1]) / (n[1] - b[1]) end
	added = math.max(0, math.floor(total - atCutoff + 0.5))
	capped = b[3]
	redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', '(' .. num(b[1]))
else
	added = countIds()
	capped = added >= cap
	redis.call('ZADD', KEYS[2], num(cutoff), num(cutoff) .. ':' .. num(total - added) .. ':' .. (capped and '1' or '0'))
end
redis.call('ZADD', KEYS[2], num(nowMs), num(nowMs) .. ':' .. num(total) .. ':0')
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return { added, num(nowMs), capped and 1 or 0 }
`;

/** Samples outlive a window by this much without a read, so a dashboard left closed for a while starts without a count of ids. */
const SAMPLES_KEPT_MS = 600_000;

const idMs = (id: string) => Number(id.split('-')[0]);

const isMissing = (error: unknown) => /NOGROUP|no such key/i.test(String((error as Error)?.message ?? error));

/** XINFO CONSUMERS rows are flat [name, value, …] lists. */
function consumerOf(row: unknown[]): ConsumerHealth {
	const o: Record<string, unknown> = {};
	for (let i = 0; i + 1 < row.length; i += 2) o[String(row[i])] = row[i + 1];
	return { name: String(o.name), pending: Number(o.pending ?? 0), idleMs: Number(o.idle ?? 0) };
}

function failed(ref: QueueRef, error: unknown): QueueHealth {
	const dlqStream = ref.dlqStream || dlqStreamName(ref.stream, ref.group);
	return {
		stream: ref.stream, group: ref.group, exists: false, groupExists: false, length: 0, pending: 0, lag: null, queueLength: 0,
		consumers: 0, lastDeliveredId: null, lastGeneratedId: null, dlqStream, dlqSize: 0, dlqCap: 0, dlqNearCap: false,
		alerts: { backlog: false, dlq: false, pending: false, dlqNearCap: false, oldestPending: false }, alerting: true,
		paused: false, inFlight: 0, consumerDetails: [], oldestPending: null,
		throughput: { windowMs: 0, added: 0, capped: false, cap: 0 }, dlqOldestAgeMs: null, state: 'red',
		error: (error as Error)?.message ?? String(error),
	};
}

/** The pause flag's who and when; a flag set by hand is paused with nobody named. */
function pauseOf(raw: string | null): { pausedBy?: string; pausedAt?: string } {
	if (raw === null) return {};
	try {
		const { by, at } = JSON.parse(raw) as { by?: string; at?: string };
		return { ...(by !== undefined ? { pausedBy: by } : {}), ...(at !== undefined ? { pausedAt: at } : {}) };
	} catch {
		return {};
	}
}

interface HealthWindow {
	thresholds: HealthThresholds;
	windowMs: number;
	cap: number;
	/** Redis's clock as last read (the report's `at`). */
	clock: { now: number };
}

/** One pipeline: the last window's intake, consumers, oldest pending, first dead letter, pause flag. */
async function readExtras(redis: Redis, ref: QueueRef, dlqStream: string, w: HealthWindow) {
	const pipeline = redis.pipeline();
	pipeline.eval(ADDED_SCRIPT, 2, ref.stream, addedSamplesKey(ref.stream), w.windowMs, w.cap, w.windowMs + SAMPLES_KEPT_MS);
	pipeline.call('XINFO', 'CONSUMERS', ref.stream, ref.group);
	pipeline.call('XPENDING', ref.stream, ref.group, '-', '+', 1);
	pipeline.xrange(dlqStream, '-', '+', 'COUNT', 1);
	pipeline.get(pauseKey(ref.stream, ref.group));
	const replies = (await pipeline.exec()) ?? [];
	const value = <T>(i: number, fallback: T): T => {
		const [error, reply] = replies[i] ?? [];
		if (error) {
			if (isMissing(error)) return fallback;
			throw error;
		}
		return (reply ?? fallback) as T;
	};
	return {
		added: value<[number, string, number]>(0, [0, String(Date.now()), 0]),
		consumers: value<unknown[][]>(1, []),
		oldestRow: value<Array<[string, string, number, number]>>(2, [])[0],
		dlqFirst: value<Array<[string, string[]]>>(3, [])[0],
		pauseRaw: value<string | null>(4, null),
	};
}

async function oneQueueHealth(redis: Redis, ref: QueueRef, w: HealthWindow): Promise<QueueHealth> {
	const info = await queueInfo(redis, { ...ref, thresholds: w.thresholds });
	const { added: [added, nowText, cappedFlag], consumers, oldestRow, dlqFirst, pauseRaw } = await readExtras(redis, ref, info.dlqStream, w);
	const now = Number(nowText);
	w.clock.now = now;
	const oldestPending = oldestRow
		? { id: oldestRow[0], consumer: oldestRow[1], idleMs: Number(oldestRow[2]), deliveries: Number(oldestRow[3]), ageMs: Math.max(0, now - idMs(oldestRow[0])) }
		: null;
	// Warn from 80 % of the DLQ's cap (the writer itself warns at 90 % and refuses at 100 %).
	const dlqNearCap = info.dlqNearCap || warnsNearCap(info.dlqSize, info.dlqCap);
	const alerts = { ...info.alerts, dlqNearCap, oldestPending: oldestPending !== null && oldestPending.ageMs > w.thresholds.oldestPendingSeconds * 1000 };
	const alerting = info.alerting || alerts.oldestPending || dlqNearCap;
	return {
		...info,
		dlqNearCap,
		alerts,
		alerting,
		paused: pauseRaw !== null,
		...pauseOf(pauseRaw),
		inFlight: info.pending,
		consumerDetails: consumers.map(consumerOf),
		oldestPending,
		throughput: { windowMs: w.windowMs, added: Number(added), capped: Number(cappedFlag) === 1, cap: w.cap },
		dlqOldestAgeMs: dlqFirst ? Math.max(0, now - idMs(dlqFirst[0])) : null,
		state: alerting ? 'red' : 'ok',
	};
}

/**
 * Health of several queues and their dead-letter streams at once: what Get Queue Info gives, plus
 * the pause flag, work in flight per consumer, the oldest pending entry and the last minute's
 * intake. Per queue a few round trips, all queues read concurrently.
 */
export async function queueHealth(
	redis: Redis,
	o: { queues: QueueRef[]; deadLetters?: DeadLetterRef[]; thresholds?: Partial<HealthThresholds>; windowMs?: number; cap?: number },
): Promise<HealthReport> {
	const thresholds = { ...DEFAULT_HEALTH_THRESHOLDS, ...o.thresholds };
	const w: HealthWindow = { thresholds, windowMs: o.windowMs ?? 60_000, cap: o.cap ?? 10_000, clock: { now: Date.now() } };
	const deadLettersRead = o.deadLetters?.length ? deadLetterHealth(redis, o.deadLetters, { dlqSize: thresholds.dlqSize }) : undefined;
	const queues = await Promise.all(o.queues.map(async (ref) => await oneQueueHealth(redis, ref, w).catch((error: unknown) => failed(ref, error))));
	const deadLetters = await deadLettersRead;
	const alerting = queues.some((q) => q.state === 'red') || Boolean(deadLetters?.some((d) => d.state === 'red'));
	return { at: new Date(w.clock.now).toISOString(), queues, ...(deadLetters ? { deadLetters } : {}), alerting };
}
