import type Redis from 'ioredis';

import { DEFAULT_THRESHOLDS, queueInfo, type QueueInfo, type Thresholds } from '../streamAdmin';
import { dlqStreamName } from '../streamGroup';
import { pauseKey } from './pause';

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
	 * Entries added to the stream in the last windowMs, counted from their ids: XRANGE from
	 * `<now - window>-0` (Redis' own clock) to `+`, counted inside Redis up to `cap`. Exact while
	 * nothing trims or deletes entries that young; at the cap it is a lower bound (capped: true).
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
	alerting: boolean;
}

// Counts inside Redis so only a number crosses the wire, and uses Redis' clock (stream ids are
// Redis ms), so an n8n host with a skewed clock still counts the right minute.
const RECENT_SCRIPT = `
local t = redis.call('TIME')
local nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local startId = string.format('%.0f', nowMs - tonumber(ARGV[1])) .. '-0'
local entries = redis.call('XRANGE', KEYS[1], startId, '+', 'COUNT', tonumber(ARGV[2]))
return { #entries, string.format('%.0f', nowMs) }
`;

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

/**
 * Health of several queues and their dead-letter streams at once: what Get Queue Info gives, plus
 * the pause flag, work in flight per consumer, the oldest pending entry and the last minute's
 * intake. Per queue a few round trips, all queues read concurrently.
 */
export async function queueHealth(
	redis: Redis,
	o: { queues: QueueRef[]; thresholds?: Partial<HealthThresholds>; windowMs?: number; cap?: number },
): Promise<HealthReport> {
	const thresholds = { ...DEFAULT_HEALTH_THRESHOLDS, ...o.thresholds };
	const windowMs = o.windowMs ?? 60_000;
	const cap = o.cap ?? 10_000;
	let clock = Date.now();
	const queues = await Promise.all(
		o.queues.map(async (ref): Promise<QueueHealth> => {
			try {
				const info = await queueInfo(redis, { ...ref, thresholds });
				const pipeline = redis.pipeline();
				pipeline.eval(RECENT_SCRIPT, 1, ref.stream, windowMs, cap);
				pipeline.call('XINFO', 'CONSUMERS', ref.stream, ref.group);
				pipeline.call('XPENDING', ref.stream, ref.group, '-', '+', 1);
				pipeline.xrange(info.dlqStream, '-', '+', 'COUNT', 1);
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
				const [added, nowText] = value<[number, string]>(0, [0, String(Date.now())]);
				const now = Number(nowText);
				clock = now;
				const consumerDetails = value<unknown[][]>(1, []).map(consumerOf);
				const oldestRow = value<Array<[string, string, number, number]>>(2, [])[0];
				const oldestPending = oldestRow
					? { id: oldestRow[0], consumer: oldestRow[1], idleMs: Number(oldestRow[2]), deliveries: Number(oldestRow[3]), ageMs: Math.max(0, now - idMs(oldestRow[0])) }
					: null;
				const dlqFirst = value<Array<[string, string[]]>>(3, [])[0];
				const pauseRaw = value<string | null>(4, null);
				let pausedBy: string | undefined;
				let pausedAt: string | undefined;
				if (pauseRaw !== null) {
					try {
						({ by: pausedBy, at: pausedAt } = JSON.parse(pauseRaw) as { by?: string; at?: string });
					} catch {
						// A flag set by hand: paused, nobody named.
					}
				}
				const alerts = { ...info.alerts, oldestPending: oldestPending !== null && oldestPending.ageMs > thresholds.oldestPendingSeconds * 1000 };
				const alerting = info.alerting || alerts.oldestPending;
				return {
					...info,
					alerts,
					alerting,
					paused: pauseRaw !== null,
					...(pausedBy !== undefined ? { pausedBy } : {}),
					...(pausedAt !== undefined ? { pausedAt } : {}),
					inFlight: info.pending,
					consumerDetails,
					oldestPending,
					throughput: { windowMs, added: Number(added), capped: Number(added) >= cap, cap },
					dlqOldestAgeMs: dlqFirst ? Math.max(0, now - idMs(dlqFirst[0])) : null,
					state: alerting ? 'red' : 'ok',
				};
			} catch (error) {
				return failed(ref, error);
			}
		}),
	);
	return { at: new Date(clock).toISOString(), queues, alerting: queues.some((q) => q.state === 'red') };
}
