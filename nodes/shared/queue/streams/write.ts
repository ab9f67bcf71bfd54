import type Redis from 'ioredis';

import { batchedLuaScript, evalScriptBatched, evalScriptMany, luaScript, repliesPerCall, type ScriptCall } from '../redisScripts';
import { encodeMessage, MESSAGE_FIELD, type StreamEntry, type WriteResult } from './entries';
import { trimSafely, type TrimOptions } from './trim';

async function trimEach(redis: Redis, streams: Iterable<string>, trim: TrimOptions | undefined): Promise<void> {
	// A failed trim loses nothing (the entries are written; the next write trims again): it must not
	// turn a stored entry into a reported failure that a caller would retry into a duplicate.
	for (const stream of new Set(streams)) await trimSafely(redis, stream, trim).catch(() => undefined);
}

// A batch's XADDs as script runs of up to 100 entries: one command per run instead of one per
// entry costs the client ~4–5 µs per entry instead of ~12–18 (command objects, promises, RESP
// headers) and Redis ~1.5 µs more. redis.pcall keeps each entry's own outcome: an entry Redis
// refuses (WRONGTYPE) comes back as its error and the entries around it are stored, as before.
const ADD_MANY_SCRIPT = luaScript(`
local replies = {}
for i = 1, #KEYS do
  local id = redis.pcall('XADD', KEYS[i], '*', '${MESSAGE_FIELD}', ARGV[i])
  if type(id) == 'table' then replies[2 * i - 1], replies[2 * i] = 0, id.err or tostring(id)
  else replies[2 * i - 1], replies[2 * i] = 1, id end
end
return replies
`);
const ENTRIES_PER_RUN = 100;
// Also bounded by size, so a batch of large messages never makes one long script run.
const CHARS_PER_RUN = 1_000_000;

/**
 * Appends the entries in one pipelined round trip. Results come back in input order, one per
 * entry, so a caller can report the entry Redis refused (e.g. WRONGTYPE) and keep the rest.
 * With a cap, each written stream is then trimmed safely (see trim.ts).
 */
export async function addEntries(redis: Redis, entries: StreamEntry[], trim: TrimOptions = {}): Promise<WriteResult[]> {
	if (entries.length === 0) return [];
	const runs: ScriptCall[] = [];
	let run: ScriptCall = { keys: [], args: [] };
	let chars = 0;
	for (const { stream, message } of entries) {
		const encoded = encodeMessage(message);
		if (run.keys.length === ENTRIES_PER_RUN || (run.keys.length > 0 && chars + encoded.length > CHARS_PER_RUN)) {
			runs.push(run);
			run = { keys: [], args: [] };
			chars = 0;
		}
		run.keys.push(stream);
		run.args.push(encoded);
		chars += encoded.length;
	}
	runs.push(run);
	// A run that failed as a whole was refused before it started (e.g. OOM, nothing stored) or lost
	// its reply with the connection (outcome unknown, as for a lost XADD reply): each of its entries
	// reports the error, and a caller's retry may write one again — consumers dedupe on traceId.
	const replies = repliesPerCall(await evalScriptMany(redis, ADD_MANY_SCRIPT, runs), runs.map((r) => r.keys.length));
	const results = replies.map(([error, id]): WriteResult => (error ? { ok: false, error } : { ok: true, id: String(id) }));
	await trimEach(redis, entries.filter((_, i) => results[i]?.ok).map((e) => e.stream), trim);
	return results;
}

/** addEntries for one stream; throws on the first refused entry. */
export async function addMessages(redis: Redis, stream: string, messages: unknown[], trim: TrimOptions = {}): Promise<string[]> {
	const results = await addEntries(redis, messages.map((message) => ({ stream, message })), trim);
	return results.map((result, index) => {
		if (!result.ok) throw new Error(`Redis refused entry ${index} for ${stream}: ${result.error.message}`);
		return result.id;
	});
}

export interface OnceEntry extends StreamEntry {
	/** Remembered for `rememberSeconds` after the write; a second entry with it is not written. */
	onceKey?: string;
	/** What the key remembers (e.g. the first delivery's trace id), returned to later duplicates. */
	rememberValue: string;
	rememberSeconds: number;
}

export type OnceResult = { stored: true; id: string } | { stored: false; earlier: string };

// XADD and the remember key in one step: an entry is either stored and remembered, or neither, so a
// caller that retries after a failure is never told "duplicate" for an entry that was not stored.
const ADD_ONCE_SCRIPT = batchedLuaScript('', `
if KEYS[2] ~= '' then
  local earlier = redis.call('GET', KEYS[2])
  if earlier then return { 0, earlier } end
end
local id = redis.call('XADD', KEYS[1], '*', '${MESSAGE_FIELD}', ARGV[1])
if KEYS[2] ~= '' then redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3]) end
return { 1, id }
`);

/** Appends entries unless their once-key was seen; one pipelined round trip, then a safe trim. */
export async function addEntriesOnce(redis: Redis, entries: OnceEntry[], trim: TrimOptions = {}): Promise<OnceResult[]> {
	if (entries.length === 0) return [];
	const replies = await evalScriptBatched(redis, ADD_ONCE_SCRIPT, entries.map((e) => ({
		keys: [e.stream, e.onceKey ?? ''],
		args: [encodeMessage(e.message), e.rememberValue, Math.max(1, Math.floor(e.rememberSeconds))],
	})));
	const results = replies.map(([error, reply]): OnceResult => {
		if (error) throw error;
		const [stored, value] = reply as [number, string];
		return stored === 1 ? { stored: true, id: value } : { stored: false, earlier: value };
	});
	await trimEach(redis, entries.filter((_, i) => results[i].stored).map((e) => e.stream), trim);
	return results;
}
