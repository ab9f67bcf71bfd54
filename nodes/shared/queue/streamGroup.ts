import type Redis from 'ioredis';

import { evalScript, evalScriptMany, luaScript, type ScriptCall } from './redisScripts';
import { fieldsToObject } from './streams';

// The naming rule lives with the stream writer; re-exported for the callers that import it from here.
export { dlqStreamName } from './streams';

/** An entry as XREADGROUP / XAUTOCLAIM return it; fields are null when the entry was trimmed. */
export interface RawEntry {
	id: string;
	fields: Record<string, string> | null;
}

type WireEntry = [string, string[] | null];

export function isNoGroupError(error: unknown): boolean {
	return /NOGROUP/.test(String((error as { message?: string })?.message ?? error));
}

/** Creates the group (and the stream) if missing; an existing group is left as it is. */
export async function ensureGroup(redis: Redis, stream: string, group: string, startId: string): Promise<void> {
	try {
		await redis.xgroup('CREATE', stream, group, startId, 'MKSTREAM');
	} catch (error) {
		if (!/BUSYGROUP/.test(String((error as Error).message))) throw error;
	}
}

function toEntries(wire: WireEntry[] | null | undefined): RawEntry[] {
	return (wire ?? []).map(([id, fields]) => ({ id, fields: fields ? fieldsToObject(fields) : null }));
}

/**
 * XREADGROUP from `id`: `>` for new entries (blocking up to blockMs), anything else re-reads this
 * consumer's own pending entries after that id (no blocking).
 */
export async function readGroup(
	redis: Redis,
	o: { stream: string; group: string; consumer: string; count: number; id: string; blockMs?: number },
): Promise<RawEntry[]> {
	const block = o.id === '>' && o.blockMs ? ['BLOCK', o.blockMs] : [];
	const reply = (await redis.call(
		'XREADGROUP', 'GROUP', o.group, o.consumer, 'COUNT', o.count, ...block, 'STREAMS', o.stream, o.id,
	)) as Array<[string, WireEntry[]]> | null;
	return toEntries(reply?.[0]?.[1]);
}

export interface ClaimResult {
	cursor: string;
	entries: RawEntry[];
	/** Ids that were pending but no longer exist in the stream (trimmed); Redis drops them from the PEL. */
	deletedIds: string[];
}

export async function autoClaim(
	redis: Redis,
	o: { stream: string; group: string; consumer: string; minIdleMs: number; cursor: string; count: number },
): Promise<ClaimResult> {
	const reply = (await redis.call(
		'XAUTOCLAIM', o.stream, o.group, o.consumer, o.minIdleMs, o.cursor, 'COUNT', o.count,
	)) as [string, WireEntry[], string[]?];
	return { cursor: reply[0], entries: toEntries(reply[1]), deletedIds: reply[2] ?? [] };
}

/** Delivery counts of pending ids: one exact XPENDING per id, in one pipelined round trip. */
export async function deliveryCounts(
	redis: Redis,
	stream: string,
	group: string,
	ids: string[],
): Promise<Map<string, number>> {
	const counts = new Map<string, number>();
	if (ids.length === 0) return counts;
	const pipeline = redis.pipeline();
	for (const id of ids) pipeline.call('XPENDING', stream, group, id, id, 1);
	const replies = (await pipeline.exec()) ?? [];
	replies.forEach(([error, reply], i) => {
		const row = (reply as Array<[string, string, number, number]> | null)?.[0];
		if (!error && row) counts.set(ids[i], Number(row[3]));
	});
	return counts;
}

// Renews only entries this consumer still owns: XCLAIM with min-idle 0 would otherwise take back an
// entry another consumer legitimately claimed after we stalled, and both would process it. The
// ownership check (XPENDING … consumer) and the renewal are one script, so no claim slips between.
// JUSTID: the renewal does not count as a delivery.
const RENEW_OWNED_SCRIPT = luaScript(`
local lost = {}
for i = 3, #ARGV do
  local row = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1, ARGV[2])
  if #row > 0 then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
  else
    table.insert(lost, ARGV[i])
  end
end
return lost
`);

/**
 * Ids per script run: each id costs Redis ~15 µs (an XPENDING and an XCLAIM), and a script holds
 * Redis for its whole run, so 4,000 in-flight ids in one script would stall every other client
 * (intake's XADD, other consumers) for ~60 ms. Runs of 250 stay under ~4 ms each.
 */
const RENEW_IDS_PER_RUN = 250;

/**
 * Resets the idle time of the given ids that are still pending for this consumer, so no claimer
 * takes them while their batch runs. Returns the ids it no longer owns (claimed by another
 * consumer, acknowledged, or gone with the group).
 */
export async function renewOwned(
	redis: Redis,
	o: { stream: string; group: string; consumer: string },
	ids: string[],
): Promise<string[]> {
	if (ids.length === 0) return [];
	const runs: ScriptCall[] = [];
	for (let at = 0; at < ids.length; at += RENEW_IDS_PER_RUN) {
		runs.push({ keys: [o.stream], args: [o.group, o.consumer, ...ids.slice(at, at + RENEW_IDS_PER_RUN)] });
	}
	const lost: string[] = [];
	for (const [error, reply] of await evalScriptMany(redis, RENEW_OWNED_SCRIPT, runs)) {
		if (error) throw error;
		lost.push(...(reply as string[]));
	}
	return lost;
}

/** Below this a slow but healthy batch (GC pause, busy event loop) loses its entries to a claimer. */
export const MIN_CLAIM_TIMEOUT_MS = 3_000;

// Consumers are named per activation (see the trigger's consumerOptions.ts), so every restart leaves
// a name behind. Deletes the group's consumers that have nothing pending and have not read for
// ARGV[3] ms (never ARGV[2], the caller itself), plus ARGV[4] when it has nothing pending (a consumer
// closing removes itself). The pending check and DELCONSUMER are one script: a consumer that still
// holds entries is never deleted (its entries would lose their owner); ones pending on a dead
// consumer are taken over by XAUTOCLAIM, then its name goes too.
const REMOVE_IDLE_CONSUMERS_SCRIPT = luaScript(`
local removed = {}
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', KEYS[1], ARGV[1])) do
  local name, pending, idle
  for i = 1, #c, 2 do
    if c[i] == 'name' then name = c[i + 1] elseif c[i] == 'pending' then pending = c[i + 1] elseif c[i] == 'idle' then idle = c[i + 1] end
  end
  local stale = name ~= ARGV[2] and tonumber(ARGV[3]) > 0 and idle >= tonumber(ARGV[3])
  if pending == 0 and (stale or name == ARGV[4]) then
    redis.call('XGROUP', 'DELCONSUMER', KEYS[1], ARGV[1], name)
    table.insert(removed, name)
  end
end
return removed
`);

/**
 * Removes idle consumers of the group with nothing pending (minIdleMs 0: none), never `keep`; and
 * `self` when it has nothing pending. Returns the names removed.
 */
export async function removeIdleConsumers(
	redis: Redis,
	o: { stream: string; group: string; keep: string; minIdleMs: number; self?: string },
): Promise<string[]> {
	return (await evalScript(redis, REMOVE_IDLE_CONSUMERS_SCRIPT, {
		keys: [o.stream],
		args: [o.group, o.keep, Math.max(0, Math.floor(o.minIdleMs)), o.self ?? ''],
	})) as string[];
}
