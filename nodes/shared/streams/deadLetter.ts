import type Redis from 'ioredis';

import { MESSAGE_FIELD } from './entries';
import { errorsKey } from './ack';

export interface DeadLetter {
	id: string;
	/** The entry's `message` field as stored (null when the entry had been trimmed away). */
	message: string | null;
	retryCount: number;
	/** Used when no failure was recorded for the id. */
	fallbackError: string;
}

/** The fields of a dead-letter entry, in the order the existing lead backend writes them. */
export interface DeadLetterFields {
	message: string;
	originalQueue: string;
	originalId: string;
	group: string;
	failedAt: string;
	retryCount: string;
	lastError: string;
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
