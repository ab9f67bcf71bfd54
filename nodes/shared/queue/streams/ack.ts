import type Redis from 'ioredis';

import { evalScript, luaScript } from '../redisScripts';
import { firstError } from './entries';

/** Where a consumer keeps the last failure reason per pending id, so the DLQ entry can say why. */
export function errorsKey(stream: string, group: string): string {
	return `${stream}:${group}:lastError`;
}

const ERRORS_TTL_SECONDS = 7 * 24 * 3600;

/** Records why these pending ids failed; throws if Redis refused any part of it. */
export async function recordErrors(
	redis: Redis,
	stream: string,
	group: string,
	errors: Array<{ id: string; error: string }>,
): Promise<void> {
	if (errors.length === 0) return;
	const key = errorsKey(stream, group);
	const replies = await redis
		.multi()
		.hset(key, ...errors.flatMap(({ id, error }) => [id, error.slice(0, 2000)]))
		.expire(key, ERRORS_TTL_SECONDS)
		.exec();
	const error = firstError(replies);
	if (error) throw error;
}

/** XACK the ids and forget their failure reasons, atomically. Returns how many were pending. */
export async function acknowledge(redis: Redis, stream: string, group: string, ids: string[]): Promise<number> {
	if (ids.length === 0) return 0;
	const replies = await redis.multi().xack(stream, group, ...ids).hdel(errorsKey(stream, group), ...ids).exec();
	const error = firstError(replies);
	if (error) throw error;
	return Number(replies![0][1]);
}

/** XACK per id in one round trip, so each id reports whether it was pending. */
export async function acknowledgeEach(
	redis: Redis,
	stream: string,
	group: string,
	ids: string[],
): Promise<Array<{ id: string; acknowledged: boolean; error?: string }>> {
	if (ids.length === 0) return [];
	const pipeline = redis.pipeline();
	for (const id of ids) pipeline.xack(stream, group, id);
	pipeline.hdel(errorsKey(stream, group), ...ids);
	const replies = (await pipeline.exec()) ?? [];
	return ids.map((id, i) => {
		const [error, count] = replies[i];
		return error ? { id, acknowledged: false, error: error.message } : { id, acknowledged: Number(count) === 1 };
	});
}

// Fencing: an execution that outlived its hold (its entries were claimed by another consumer, or
// delivered again) must not ack the entries someone else is now running. Each id is acked only
// while its XPENDING row names this consumer with the delivery count the batch was read with;
// check and XACK in one script, so no claim slips between them.
const ACK_OWNED_SCRIPT = luaScript(`
local acked, taken = {}, {}
for i = 3, #ARGV, 2 do
  local id = ARGV[i]
  local row = redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1)
  local mine = #row > 0 and row[1][2] == ARGV[2] and tonumber(row[1][4]) == tonumber(ARGV[i + 1])
  if mine then
    redis.call('XACK', KEYS[1], ARGV[1], id)
    redis.call('HDEL', KEYS[2], id)
    table.insert(acked, id)
  elseif #row > 0 then
    table.insert(taken, id)
  end
end
return { acked, taken }
`);

export interface OwnedAck {
	acked: string[];
	/** Pending on another consumer, or delivered again since this batch read them: left alone. */
	takenOver: string[];
}

/**
 * XACK only the entries still pending for `consumer` with the delivery count they were read with.
 * Ids no longer pending at all (already acked, trimmed) are in neither list.
 */
export async function acknowledgeOwned(
	redis: Redis,
	o: { stream: string; group: string; consumer: string },
	entries: Array<{ id: string; deliveryCount: number }>,
): Promise<OwnedAck> {
	if (entries.length === 0) return { acked: [], takenOver: [] };
	const [acked, takenOver] = (await evalScript(redis, ACK_OWNED_SCRIPT, {
		keys: [o.stream, errorsKey(o.stream, o.group)],
		args: [o.group, o.consumer, ...entries.flatMap((e) => [e.id, e.deliveryCount])],
	})) as [string[], string[]];
	return { acked, takenOver };
}
