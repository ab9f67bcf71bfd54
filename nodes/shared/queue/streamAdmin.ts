import type Redis from 'ioredis';

import { dlqStreamName } from './streamGroup';
import { dlqNearCap, fieldsToObject, MESSAGE_FIELD, replayEach, type DeadLetterRecord, type ReplayResult } from './streams';

export type { ReplayResult } from './streams';

/** XINFO replies are flat [name, value, …] lists. */
function pairs(reply: unknown[]): Record<string, unknown> {
	const out: Record<string, unknown> = {};
	for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = reply[i + 1];
	return out;
}

const isNoSuchKey = (error: unknown) => /no such key/i.test(String((error as Error)?.message));

export interface Thresholds {
	/** Alert when work not yet done (lag + pending) exceeds this. */
	queueLength: number;
	dlqSize: number;
	pending: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = { queueLength: 1000, dlqSize: 50, pending: 100 };

export interface QueueInfo {
	stream: string;
	group: string;
	exists: boolean;
	groupExists: boolean;
	/** Entries in the stream (XLEN), processed or not. */
	length: number;
	/** Delivered to a consumer, not yet acknowledged. */
	pending: number;
	/** Not yet delivered to the group; null when Redis cannot tell (after deletions/trims). */
	lag: number | null;
	/** lag + pending: the work still to do. */
	queueLength: number;
	consumers: number;
	lastDeliveredId: string | null;
	lastGeneratedId: string | null;
	dlqStream: string;
	dlqSize: number;
	/** The DLQ's cap as configured on the consumer (0 = none) and whether it holds 80% of it (DLQ_WARN_RATIO). */
	dlqCap: number;
	dlqNearCap: boolean;
	alerts: { backlog: boolean; dlq: boolean; pending: boolean; dlqNearCap: boolean };
	alerting: boolean;
}

export async function queueInfo(
	redis: Redis,
	o: { stream: string; group: string; dlqStream?: string; dlqCap?: number; thresholds?: Partial<Thresholds> },
): Promise<QueueInfo> {
	const thresholds = { ...DEFAULT_THRESHOLDS, ...o.thresholds };
	const dlqStream = o.dlqStream || dlqStreamName(o.stream, o.group);
	let stream: Record<string, unknown> | undefined;
	let groups: Array<Record<string, unknown>> = [];
	try {
		stream = pairs((await redis.call('XINFO', 'STREAM', o.stream)) as unknown[]);
		groups = ((await redis.call('XINFO', 'GROUPS', o.stream)) as unknown[][]).map(pairs);
	} catch (error) {
		if (!isNoSuchKey(error)) throw error;
	}
	const group = groups.find((g) => g.name === o.group);
	const length = Number(stream?.length ?? 0);
	const pending = Number(group?.pending ?? 0);
	const lag = group ? (group.lag === null || group.lag === undefined ? null : Number(group.lag)) : length;
	const queueLength = (lag ?? 0) + pending;
	const dlqSize = await redis.xlen(dlqStream);
	const dlqCap = Math.max(0, Math.floor(o.dlqCap ?? 0));
	const alerts = {
		backlog: queueLength > thresholds.queueLength,
		dlq: dlqSize > thresholds.dlqSize,
		pending: pending > thresholds.pending,
		dlqNearCap: dlqNearCap(dlqSize, dlqCap),
	};
	return {
		stream: o.stream,
		group: o.group,
		exists: stream !== undefined,
		groupExists: group !== undefined,
		length,
		pending,
		lag,
		queueLength,
		consumers: Number(group?.consumers ?? 0),
		lastDeliveredId: (group?.['last-delivered-id'] as string | undefined) ?? null,
		lastGeneratedId: (stream?.['last-generated-id'] as string | undefined) ?? null,
		dlqStream,
		dlqSize,
		dlqCap,
		dlqNearCap: alerts.dlqNearCap,
		alerts,
		alerting: alerts.backlog || alerts.dlq || alerts.pending || alerts.dlqNearCap,
	};
}

/** A dead letter as read back: the record's fields (message and replayMessage parsed when JSON) and its id. */
export interface DeadLetterEntry extends DeadLetterRecord {
	id: string;
}

function parseMaybeJson(text: string | undefined): unknown {
	if (text === undefined) return null;
	try {
		return JSON.parse(text);
	} catch {
		return text;
	}
}

export async function listDeadLetters(
	redis: Redis,
	dlqStream: string,
	o: { count: number; after?: string },
): Promise<DeadLetterEntry[]> {
	const start = o.after ? `(${o.after}` : '-';
	const raw = (await redis.xrange(dlqStream, start, '+', 'COUNT', o.count)) as Array<[string, string[]]>;
	return raw.map(([id, list]) => {
		const f = fieldsToObject(list);
		return {
			id,
			message: parseMaybeJson(f[MESSAGE_FIELD]),
			originalQueue: f.originalQueue,
			originalId: f.originalId,
			group: f.group,
			failedAt: f.failedAt,
			retryCount: Number(f.retryCount ?? 0),
			lastError: f.lastError,
			...(f.replayMessage === undefined ? {} : { replayMessage: parseMaybeJson(f.replayMessage) }),
		};
	});
}

/** Replays the given DLQ ids, or the oldest `limit` entries when no ids are given. */
export async function replayDeadLetters(
	redis: Redis,
	dlqStream: string,
	o: { ids?: string[]; limit: number },
): Promise<ReplayResult[]> {
	const ids = o.ids?.length ? o.ids : (await listDeadLetters(redis, dlqStream, { count: o.limit })).map((e) => e.id);
	return await replayEach(redis, dlqStream, ids);
}

/** What Acknowledge would do to each id, read-only (XPENDING per id): for editor test runs. */
export async function pendingAmong(
	redis: Redis,
	stream: string,
	group: string,
	ids: string[],
): Promise<Array<{ id: string; wouldAcknowledge: boolean; error?: string }>> {
	if (ids.length === 0) return [];
	const pipeline = redis.pipeline();
	for (const id of ids) pipeline.call('XPENDING', stream, group, id, id, 1);
	const replies = (await pipeline.exec()) ?? [];
	return ids.map((id, i) => {
		const [error, reply] = replies[i];
		return error ? { id, wouldAcknowledge: false, error: error.message } : { id, wouldAcknowledge: (reply as unknown[]).length > 0 };
	});
}

export interface ReplayPlan {
	deadLetterId: string;
	replayed: false;
	wouldReplay: boolean;
	/** The stream a replay would add the message to. */
	queue?: string;
	reason?: string;
}

/**
 * What Replay Dead Letters would do, read-only (XRANGE): the same choice of entries and the same
 * refusals as replayDeadLetters, nothing moved. For editor test runs.
 */
export async function planReplay(redis: Redis, dlqStream: string, o: { ids?: string[]; limit: number }): Promise<ReplayPlan[]> {
	let found: Array<{ id: string; fields: Record<string, string> } | { id: string; fields: undefined }>;
	if (o.ids?.length) {
		const pipeline = redis.pipeline();
		for (const id of o.ids) pipeline.xrange(dlqStream, id, id);
		const replies = (await pipeline.exec()) ?? [];
		found = o.ids.map((id, i) => {
			const [error, reply] = replies[i];
			if (error) throw error;
			const [entry] = reply as Array<[string, string[]]>;
			return { id, fields: entry ? fieldsToObject(entry[1]) : undefined };
		});
	} else {
		const raw = (await redis.xrange(dlqStream, '-', '+', 'COUNT', o.limit)) as Array<[string, string[]]>;
		found = raw.map(([id, list]) => ({ id, fields: fieldsToObject(list) }));
	}
	return found.map(({ id, fields }): ReplayPlan => {
		if (!fields) return { deadLetterId: id, replayed: false, wouldReplay: false, reason: 'not in the dead-letter stream (already replayed?)' };
		if (fields[MESSAGE_FIELD] === undefined || !fields.originalQueue) {
			return { deadLetterId: id, replayed: false, wouldReplay: false, reason: `dead letter ${id} has no message or originalQueue` };
		}
		return { deadLetterId: id, replayed: false, wouldReplay: true, queue: fields.originalQueue };
	});
}
