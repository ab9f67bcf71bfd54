import { hash } from 'node:crypto';

import type Redis from 'ioredis';

import { evalScript, luaScript } from '../queue';
import { addDays, dateIn, dayKey, fieldOf, seenKey, type DecisionEvent } from './counters';

export interface RecorderOptions {
	/** Counts are kept per namespace (the Dedupe node's namespace, default `leads`). */
	namespace?: string;
	/** IANA zone whose calendar days get a second set of hashes (the workflow's time zone). */
	timeZone?: string;
	/** Days a day's counts are kept. Default 90. */
	retentionDays?: number;
	/**
	 * How long a counted event is remembered, so a redelivery or a dead-letter replay within this
	 * many days is not counted again. Default 7 (never more than retentionDays).
	 */
	dedupeDays?: number;
	/** Give up waiting after this long (the write may still land). Default 2000 ms. */
	timeoutMs?: number;
	/** The clock; tests pass a fixed date. */
	now?: Date;
}

export interface RecordResult {
	/** false when Redis refused or did not answer: nothing of the batch is known to be counted. */
	ok: boolean;
	counted: number;
	/** Events already counted earlier (redelivery) or twice in this batch. */
	alreadyCounted: number;
	/** Events that do not fit their counter (a wiring bug in the caller): skipped, with why. */
	invalid: Array<{ index: number; reason: string }>;
	error?: string;
	/** Set when the time zone was unusable: counted by UTC day only. */
	warning?: string;
}

export const DEFAULT_NAMESPACE = 'leads';
export const DEFAULT_RETENTION_DAYS = 90;
export const DEFAULT_DEDUPE_DAYS = 7;

// KEYS: the day hashes (ARGV[1] of them), today's seen hash, then the earlier seen hashes.
// ARGV: nDay, dayTtl, seenTtl, then (seenId, field, by) per event.
// Key types are checked before anything is written: a script error half-way would leave events
// marked as seen but never counted (Lua scripts do not roll back).
// Work per batch, not per event: each seen hash is read with HMGET in chunks, today's marks go in
// with one HSET per chunk and each distinct field gets one HINCRBY per day hash (summed here).
// One redis.call per event per seen day cost ≈ 9 µs of Redis time per event at 7 days.
const RECORD_SCRIPT = luaScript(`
local nDay = tonumber(ARGV[1])
for i = 1, #KEYS do
  local t = redis.call('TYPE', KEYS[i]).ok
  if t ~= 'hash' and t ~= 'none' then
    return redis.error_reply('WRONGTYPE metrics key ' .. KEYS[i] .. ' holds a ' .. t .. ', not a hash')
  end
end
local CHUNK = 500
local today = KEYS[nDay + 1]
local ids, fields, bys, n = {}, {}, {}, 0
for i = 4, #ARGV, 3 do
  n = n + 1
  ids[n], fields[n], bys[n] = ARGV[i], ARGV[i + 1], tonumber(ARGV[i + 2])
end
local seen = {}
for s = nDay + 1, #KEYS do
  if redis.call('EXISTS', KEYS[s]) == 1 then
    for from = 1, n, CHUNK do
      local hits = redis.call('HMGET', KEYS[s], unpack(ids, from, math.min(n, from + CHUNK - 1)))
      for j = 1, #hits do
        if hits[j] then seen[ids[from + j - 1]] = true end
      end
    end
  end
end
local counted, already = 0, 0
local marks, totals, order = {}, {}, {}
for i = 1, n do
  local id = ids[i]
  if seen[id] then
    already = already + 1
  else
    -- A repeat later in this same batch is already counted.
    seen[id] = true
    counted = counted + 1
    marks[#marks + 1] = id
    marks[#marks + 1] = '1'
    local field = fields[i]
    if not totals[field] then
      order[#order + 1] = field
      totals[field] = 0
    end
    totals[field] = totals[field] + bys[i]
  end
end
for from = 1, #marks, 2 * CHUNK do
  redis.call('HSET', today, unpack(marks, from, math.min(#marks, from + 2 * CHUNK - 1)))
end
for _, field in ipairs(order) do
  for d = 1, nDay do redis.call('HINCRBY', KEYS[d], field, string.format('%d', totals[field])) end
end
if counted > 0 then
  for d = 1, nDay do redis.call('EXPIRE', KEYS[d], ARGV[2]) end
end
if counted + already > 0 then redis.call('EXPIRE', today, ARGV[3]) end
return { counted, already }
`);

function seenId(traceId: string, field: string): string {
	// 20 hex chars (80 bits) keep the seen hashes small; a collision would need ~10^12 events.
	// One-shot hash: a third of createHash's cost per event, same digest (ids already stored stay valid).
	return hash('sha1', `${traceId}\n${field}`, 'hex').slice(0, 20);
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new Error(`metrics write timed out after ${ms} ms`)), ms);
	});
	return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Counts a batch of decisions in one round trip (one Lua script): HINCRBY into the namespace's
 * hash for the UTC day and for the time zone's day, each event at most once per traceId + counter
 * + labels within dedupeDays. Never throws: a failure comes back as { ok: false, error } for the
 * caller to log while the lead goes on.
 */
export async function recordDecisions(
	redis: Redis,
	options: RecorderOptions,
	events: DecisionEvent[],
): Promise<RecordResult> {
	const result: RecordResult = { ok: true, counted: 0, alreadyCounted: 0, invalid: [] };
	try {
		const namespace = options.namespace?.trim() || DEFAULT_NAMESPACE;
		const retentionDays = Math.max(1, Math.floor(options.retentionDays ?? DEFAULT_RETENTION_DAYS));
		const dedupeDays = Math.max(1, Math.min(retentionDays, Math.floor(options.dedupeDays ?? DEFAULT_DEDUPE_DAYS)));
		const now = options.now ?? new Date();
		const utcDate = dateIn(now, 'UTC');
		const dayKeys = [dayKey(namespace, 'UTC', utcDate)];
		const zone = options.timeZone?.trim();
		if (zone && zone !== 'UTC' && zone !== 'Etc/UTC') {
			try {
				dayKeys.push(dayKey(namespace, zone, dateIn(now, zone)));
			} catch {
				result.warning = `unknown time zone "${zone}": counted by UTC day only`;
			}
		}
		const args: Array<string | number> = [];
		(events ?? []).forEach((event, index) => {
			const encoded = fieldOf(event);
			if ('error' in encoded) {
				result.invalid.push({ index, reason: encoded.error });
				return;
			}
			args.push(seenId(event.traceId, encoded.field), encoded.field, event.by ?? 1);
		});
		if (args.length === 0) return result;
		const seenKeys = Array.from({ length: dedupeDays }, (_, i) => seenKey(namespace, addDays(utcDate, -i)));
		const keys = [...dayKeys, ...seenKeys];
		const reply = (await withTimeout(
			evalScript(redis, RECORD_SCRIPT, { keys, args: [dayKeys.length, (retentionDays + 1) * 86_400, (dedupeDays + 1) * 86_400, ...args] }),
			options.timeoutMs ?? 2_000,
		)) as [number, number];
		result.counted = Number(reply[0]);
		result.alreadyCounted = Number(reply[1]);
		return result;
	} catch (error) {
		return { ...result, ok: false, error: (error as { message?: string })?.message ?? String(error) };
	}
}
