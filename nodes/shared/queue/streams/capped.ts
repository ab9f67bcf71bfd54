import type Redis from 'ioredis';

import { encodeMessage, MESSAGE_FIELD } from './entries';

/** Share of the cap from which a stream counts as near it (warn before anything is refused). */
export const NEAR_CAP_RATIO = 0.9;

export function nearCap(length: number, cap: number | undefined): boolean {
	return Boolean(cap && cap > 0 && length >= Math.floor(cap * NEAR_CAP_RATIO));
}

// A stream no group reads (a DLQ, the intake's rejected stream, an audit log) holds entries until
// someone replays or deletes them: trimming would delete them unseen. So a cap here refuses new
// entries instead (the caller keeps them: pending in the queue, or a 5xx so the sender retries) and
// never deletes.
//
// The rule as a Lua function, for scripts that must append in the same atomic step as other work
// (the lead store's duplicates log is written in the step that decides the duplicate verdict).
// Prepend it to the script and call appendWithinCap(stream, cap, message): the new id, or false
// when the stream is at its cap (cap 0 = none).
export const APPEND_WITHIN_CAP_LUA = `
local function appendWithinCap(stream, cap, message)
  if cap > 0 and redis.call('XLEN', stream) >= cap then return false end
  return redis.call('XADD', stream, '*', '${MESSAGE_FIELD}', message)
end
`;

const APPEND_WITHIN_CAP_SCRIPT = `${APPEND_WITHIN_CAP_LUA}
local cap = tonumber(ARGV[1])
local ids = {}
for i = 2, #ARGV do table.insert(ids, appendWithinCap(KEYS[1], cap, ARGV[i])) end
return { redis.call('XLEN', KEYS[1]), ids }
`;

export interface CappedWrite {
	/** Per message: the new id, or null when the stream was at its cap and the message was refused. */
	ids: Array<string | null>;
	length: number;
	nearCap: boolean;
	refused: number;
}

/**
 * Appends to a stream no consumer group reads, up to `cap` entries (0 = no cap). Over the cap the
 * message is refused, never trimmed in: the caller must keep it and warn (see CappedWrite).
 */
export async function appendWithinCap(redis: Redis, stream: string, messages: unknown[], cap = 0): Promise<CappedWrite> {
	const [length, raw] = (await redis.eval(
		APPEND_WITHIN_CAP_SCRIPT, 1, stream, Math.max(0, Math.floor(cap)), ...messages.map(encodeMessage),
	)) as [number, Array<string | null>];
	const ids = raw.map((id) => id || null);
	return { ids, length, nearCap: nearCap(length, cap), refused: ids.filter((id) => id === null).length };
}
