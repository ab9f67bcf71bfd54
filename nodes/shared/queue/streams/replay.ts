import type Redis from 'ioredis';

import { MESSAGE_FIELD } from './entries';

// Moves one dead letter back to its queue as a new entry and deletes it from the DLQ, atomically:
// two people replaying the same entry at once produce one new entry, not two. XADD comes first, so
// a refused XADD (WRONGTYPE on the queue) leaves the dead letter where it was.
const REPLAY_SCRIPT = `
local entry = redis.call('XRANGE', KEYS[1], ARGV[1], ARGV[1])
if #entry == 0 then return false end
local fields = entry[1][2]
local message, replay, queue
for i = 1, #fields, 2 do
  if fields[i] == '${MESSAGE_FIELD}' then message = fields[i + 1] end
  if fields[i] == 'replayMessage' then replay = fields[i + 1] end
  if fields[i] == 'originalQueue' then queue = fields[i + 1] end
end
-- A template's dead letter keeps its account of the failure in message and the queue's own
-- message in replayMessage: the queue gets back what it had.
message = replay or message
if not message or not queue then
  return redis.error_reply('dead letter ' .. ARGV[1] .. ' has no message or originalQueue')
end
local id = redis.call('XADD', queue, '*', '${MESSAGE_FIELD}', message)
redis.call('XDEL', KEYS[1], ARGV[1])
return { queue, id }
`;

export interface ReplayResult {
	deadLetterId: string;
	replayed: boolean;
	queue?: string;
	newId?: string;
	reason?: string;
}

/** Replays the given DLQ ids one by one (each atomic); a refused one says why and the rest go on. */
export async function replayEach(redis: Redis, dlqStream: string, ids: string[]): Promise<ReplayResult[]> {
	const results: ReplayResult[] = [];
	for (const id of ids) {
		try {
			const reply = (await redis.eval(REPLAY_SCRIPT, 1, dlqStream, id)) as [string, string] | null;
			results.push(
				reply
					? { deadLetterId: id, replayed: true, queue: reply[0], newId: reply[1] }
					: { deadLetterId: id, replayed: false, reason: 'not in the dead-letter stream (already replayed?)' },
			);
		} catch (error) {
			results.push({ deadLetterId: id, replayed: false, reason: (error as Error).message });
		}
	}
	return results;
}
