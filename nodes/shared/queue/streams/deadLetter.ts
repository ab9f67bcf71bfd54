import type Redis from 'ioredis';

import { encodeMessage, MESSAGE_FIELD, type WriteResult } from './entries';
import { errorsKey } from './ack';
import { dlqNearCap } from './names';

export interface DeadLetter {
	id: string;
	/** The entry's `message` field as stored (null when the entry had been trimmed away). */
	message: string | null;
	retryCount: number;
	/** Used when no failure was recorded for the id. */
	fallbackError: string;
}

/**
 * The fields of a dead-letter entry, in the order the existing lead backend writes them. Every DLQ
 * in the pack has this shape (the consumer's script below, addDeadLetterEntries for everyone else),
 * so List / Replay Dead Letters read and replay any of them: replay adds `message` to `originalQueue`.
 */
export interface DeadLetterFields {
	message: string;
	originalQueue: string;
	originalId: string;
	group: string;
	failedAt: string;
	retryCount: string;
	lastError: string;
	/**
	 * What a replay puts back on originalQueue when `message` holds something else (a workflow's
	 * account of the failure, as the templates' dead-letter nodes write). Absent: `message` is replayed.
	 */
	replayMessage?: string;
}

const AT_CAP = 'dead-letter stream at its cap';

// Per entry: XADD to the DLQ first; only if Redis accepted it, XACK and forget the reason. MULTI
// cannot do this (it never rolls back: a WRONGTYPE on the DLQ would still let the XACK run and the
// entry would be in no stream), and neither can a script that lets the first error abort it midway
// without saying which entries moved. Each entry ends either in the DLQ and acked, or still pending.
// A DLQ at its cap (ARGV[3] > 0) takes nothing more: the entry stays pending, never trimmed away.
const DEAD_LETTER_SCRIPT = `
local moved, refused = {}, {}
local cap = tonumber(ARGV[3])
for i = 4, #ARGV, 4 do
  local id = ARGV[i]
  local full = false
  if cap > 0 then
    local len = redis.pcall('XLEN', KEYS[2])
    full = type(len) == 'number' and len >= cap
  end
  if full then
    table.insert(refused, id)
    table.insert(refused, '${AT_CAP}: ' .. KEYS[2] .. ' holds its cap of ' .. ARGV[3] .. ' entries; replay or delete dead letters')
  else
    local reason = redis.pcall('HGET', KEYS[3], id)
    if type(reason) ~= 'string' then reason = ARGV[i + 3] end
    local added = redis.pcall('XADD', KEYS[2], '*', '${MESSAGE_FIELD}', ARGV[i + 1], 'originalQueue', KEYS[1],
      'originalId', id, 'group', ARGV[1], 'failedAt', ARGV[2], 'retryCount', ARGV[i + 2], 'lastError', reason)
    if type(added) == 'table' and added.err then
      table.insert(refused, id)
      table.insert(refused, added.err)
    else
      redis.call('XACK', KEYS[1], ARGV[1], id)
      redis.pcall('HDEL', KEYS[3], id)
      table.insert(moved, id)
    end
  end
end
return { moved, refused }
`;

/** The reason a refused move gives when the DLQ is at its cap (nothing is ever trimmed from a DLQ). */
export const DLQ_AT_CAP = AT_CAP;

/** Thrown when Redis refused to dead-letter some entries; they are still pending in the queue. */
export class DeadLetterRefused extends Error {
	constructor(
		readonly dlqStream: string,
		readonly refused: Array<{ id: string; reason: string }>,
		readonly moved: string[],
	) {
		super(`Could not move ${refused.length} entr${refused.length === 1 ? 'y' : 'ies'} to ${dlqStream}: ${refused[0].reason}`);
		this.name = 'DeadLetterRefused';
	}

	/** True when every refusal was the cap: the entries stay pending, nothing is wrong with Redis. */
	get onlyCapped(): boolean {
		return this.refused.every((r) => r.reason.startsWith(DLQ_AT_CAP));
	}
}

/**
 * Moves entries to the DLQ stream, each atomically with its ack (one script). Returns the moved
 * ids; throws DeadLetterRefused (after moving the others) if any entry could not be moved.
 */
export async function moveToDeadLetters(
	redis: Redis,
	o: { stream: string; group: string; dlqStream: string; dlqMaxLen?: number },
	letters: DeadLetter[],
): Promise<string[]> {
	if (letters.length === 0) return [];
	const args = letters.flatMap((l) => [l.id, l.message ?? 'null', String(l.retryCount), l.fallbackError]);
	const [moved, refusedFlat] = (await redis.eval(
		DEAD_LETTER_SCRIPT, 3, o.stream, o.dlqStream, errorsKey(o.stream, o.group),
		o.group, new Date().toISOString(), Math.max(0, Math.floor(o.dlqMaxLen ?? 0)), ...args,
	)) as [string[], string[]];
	if (refusedFlat.length === 0) return moved;
	const refused = [];
	for (let i = 0; i + 1 < refusedFlat.length; i += 2) refused.push({ id: refusedFlat[i], reason: refusedFlat[i + 1] });
	throw new DeadLetterRefused(o.dlqStream, refused, moved);
}

/** A dead letter written by something that is not a stream consumer (e.g. Webhook Deliver). */
export interface DeadLetterRecord {
	/** What a replay puts back on originalQueue (JSON-encoded unless already a string). */
	message: unknown;
	originalQueue: string;
	/** The id the failed work had (a stream entry id, or the producer's own id such as a webhook-id). */
	originalId: string;
	/** Who gave up on it: the consumer group, or the producer's name when no group was involved. */
	group: string;
	failedAt: string;
	retryCount: number;
	lastError: string;
	/** What a replay puts back, when it is not `message` (see DeadLetterFields.replayMessage). */
	replayMessage?: unknown;
}

function deadLetterFields(l: DeadLetterRecord): DeadLetterFields {
	const fields: DeadLetterFields = {
		message: encodeMessage(l.message),
		originalQueue: l.originalQueue,
		originalId: l.originalId,
		group: l.group,
		failedAt: l.failedAt,
		retryCount: String(l.retryCount),
		lastError: l.lastError,
	};
	if (l.replayMessage !== undefined) fields.replayMessage = encodeMessage(l.replayMessage);
	return fields;
}

/**
 * Appends dead letters in the DLQ entry shape, one pipelined round trip; one result per letter (in
 * order) so a caller can report the one Redis refused. No trim: nothing is ever trimmed from a DLQ.
 */
export async function addDeadLetterEntries(redis: Redis, dlqStream: string, letters: DeadLetterRecord[]): Promise<WriteResult[]> {
	if (letters.length === 0) return [];
	const pipeline = redis.pipeline();
	for (const l of letters) pipeline.call('XADD', dlqStream, '*', ...Object.entries(deadLetterFields(l)).flat());
	const replies = (await pipeline.exec()) ?? [];
	return replies.map(([error, id]) => (error ? { ok: false, error } : { ok: true, id: id as string }));
}

// Per letter: refused (false) once the DLQ holds `cap` entries (0 = none), never trimmed; an entry
// Redis refuses (WRONGTYPE) comes back as its error and the others go on. Returns the DLQ's length.
const ADD_WITHIN_CAP_SCRIPT = `
local cap = tonumber(ARGV[1])
local replies = {}
local at = 2
while at <= #ARGV do
  local n = tonumber(ARGV[at])
  local len = redis.pcall('XLEN', KEYS[1])
  if cap > 0 and type(len) == 'number' and len >= cap then
    table.insert(replies, false)
  else
    local added = redis.pcall('XADD', KEYS[1], '*', unpack(ARGV, at + 1, at + n))
    if type(added) == 'table' and added.err then table.insert(replies, 'ERR:' .. added.err) else table.insert(replies, added) end
  end
  at = at + n + 1
end
local len = redis.pcall('XLEN', KEYS[1])
if type(len) ~= 'number' then len = -1 end
return { len, replies }
`;

export type CappedDeadLetter = WriteResult | { ok: false; atCap: true };

export interface CappedDeadLetterWrite {
	/** One per letter, in order; `atCap` when the DLQ was full and the letter was refused (the caller keeps it). */
	results: CappedDeadLetter[];
	length: number;
	/** From DLQ_WARN_RATIO of the cap: time to replay or clear dead letters. */
	nearCap: boolean;
}

/**
 * addDeadLetterEntries with a cap: over it a letter is refused, never trimmed in (a DLQ holds work
 * nobody has looked at). One script run, so the cap holds with many writers.
 */
export async function addDeadLettersWithinCap(
	redis: Redis,
	dlqStream: string,
	letters: DeadLetterRecord[],
	cap: number,
): Promise<CappedDeadLetterWrite> {
	const safeCap = Math.max(0, Math.floor(cap));
	if (letters.length === 0) return { results: [], length: 0, nearCap: false };
	const args = letters.flatMap((l) => {
		const flat = Object.entries(deadLetterFields(l)).flat();
		return [flat.length, ...flat];
	});
	const [length, replies] = (await redis.eval(ADD_WITHIN_CAP_SCRIPT, 1, dlqStream, safeCap, ...args)) as [number, Array<string | null>];
	const results = replies.map((reply): CappedDeadLetter => {
		if (!reply) return { ok: false, atCap: true };
		if (reply.startsWith('ERR:')) return { ok: false, error: new Error(reply.slice(4)) };
		return { ok: true, id: reply };
	});
	return { results, length, nearCap: dlqNearCap(length, safeCap) };
}
