import type Redis from 'ioredis';

import { fieldsToObject, MESSAGE_FIELD } from '../queue';

/**
 * Share of a dead-letter stream's cap from which the dashboard and the health report warn. Lower
 * than the writers' own log warning (90 %) so a person sees it while there is still room: at the
 * cap, writers refuse new dead letters (entries stay pending, or the sender gets a 5xx).
 */
export const DLQ_WARN_RATIO = 0.8;

export function warnsNearCap(length: number, cap: number | undefined): boolean {
	return Boolean(cap && cap > 0 && length >= Math.ceil(cap * DLQ_WARN_RATIO));
}

/** A dead-letter stream no consumer group of the dashboard owns (a template's DLQ…, the intake's rejected stream). */
export interface DeadLetterRef {
	stream: string;
	/** Most entries its writer lets it hold; 0 or absent = no cap known. */
	cap?: number;
}

export interface DeadLetterHealth {
	stream: string;
	exists: boolean;
	length: number;
	cap: number;
	nearCap: boolean;
	/** Past the Dead Letters Above threshold. */
	overThreshold: boolean;
	/** When the newest entry was added (from its id, Redis' clock); null when empty. */
	newestAt: string | null;
	newestAgeMs: number | null;
	oldestAgeMs: number | null;
	/**
	 * Whether Replay can move its entries back: the oldest entry (the first a replay takes) or the
	 * newest carries a message and originalQueue, the pack's dead-letter shape.
	 */
	replayable: boolean;
	state: 'ok' | 'red';
	error?: string;
}

type Entry = [string, string[]];

const idMs = (id: string) => Number(id.split('-')[0]);

function carriesOrigin(entry: Entry | undefined): boolean {
	if (!entry) return false;
	const fields = fieldsToObject(entry[1]);
	return fields[MESSAGE_FIELD] !== undefined && Boolean(fields.originalQueue);
}

/**
 * One dead-letter stream in one pipelined round trip of O(1) commands: TIME, XLEN and the first
 * and last entry (COUNT 1 each), never a scan of the entries.
 */
async function readOne(redis: Redis, ref: DeadLetterRef, dlqSize: number): Promise<DeadLetterHealth> {
	const cap = Math.max(0, Math.floor(Number(ref.cap ?? 0)) || 0);
	const base = { stream: ref.stream, cap };
	try {
		const replies = (await redis.pipeline().time().xlen(ref.stream).xrange(ref.stream, '-', '+', 'COUNT', 1).xrevrange(ref.stream, '+', '-', 'COUNT', 1).exec()) ?? [];
		const failure = replies.find(([error]) => error)?.[0];
		if (failure) throw failure;
		const [seconds, micros] = replies[0][1] as [string, string];
		const now = Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
		const length = Number(replies[1][1]);
		const oldest = (replies[2][1] as Entry[])[0];
		const newest = (replies[3][1] as Entry[])[0];
		const nearCap = warnsNearCap(length, cap);
		const overThreshold = length > dlqSize;
		return {
			...base,
			exists: length > 0,
			length,
			nearCap,
			overThreshold,
			newestAt: newest ? new Date(idMs(newest[0])).toISOString() : null,
			newestAgeMs: newest ? Math.max(0, now - idMs(newest[0])) : null,
			oldestAgeMs: oldest ? Math.max(0, now - idMs(oldest[0])) : null,
			replayable: carriesOrigin(oldest) || carriesOrigin(newest),
			state: nearCap || overThreshold ? 'red' : 'ok',
		};
	} catch (error) {
		return {
			...base, exists: false, length: 0, nearCap: false, overThreshold: false, newestAt: null, newestAgeMs: null, oldestAgeMs: null,
			replayable: false, state: 'red', error: (error as Error)?.message ?? String(error),
		};
	}
}

/** The dead-letter streams, all read concurrently; one that cannot be read is reported, the rest still are. */
export async function deadLetterHealth(redis: Redis, refs: DeadLetterRef[], o: { dlqSize: number }): Promise<DeadLetterHealth[]> {
	return await Promise.all(refs.map((ref) => readOne(redis, ref, o.dlqSize)));
}
