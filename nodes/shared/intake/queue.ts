import type Redis from 'ioredis';

import type { Lead } from '../lead';
import { MESSAGE_FIELD, type TrimOptions } from '../streams';
import { replayKey } from './replayKeys';

/** The filter-queue message the existing lead backend reads: `{ source, leadData, traceId }`. */
export function leadMessage(lead: Lead): { source: string; leadData: Lead; traceId: string } {
	return { source: lead.source.channel, leadData: lead, traceId: lead.traceId };
}

// XADD and the replay key in one step: a lead is either stored and remembered, or neither, so a
// caller that retries after a failure is never told "duplicate" for a lead that was not stored.
const ENQUEUE_SCRIPT = `
if KEYS[2] ~= '' then
  local earlier = redis.call('GET', KEYS[2])
  if earlier then return { 0, earlier } end
end
local id
if tonumber(ARGV[4]) > 0 then
  id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[4], '*', '${MESSAGE_FIELD}', ARGV[1])
else
  id = redis.call('XADD', KEYS[1], '*', '${MESSAGE_FIELD}', ARGV[1])
end
if KEYS[2] ~= '' then redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3]) end
return { 1, id }
`;

export type EnqueueResult = { traceId: string; stored: true; id: string } | { traceId: string; stored: false; duplicateOf: string };

/**
 * Appends each lead to the stream in one pipelined round trip. A lead whose channel message id
 * was seen within `replayWindowSeconds` is not appended again; its result names the trace id the
 * first delivery got.
 */
export async function enqueueLeads(
	redis: Redis,
	stream: string,
	leads: Lead[],
	o: TrimOptions & { replayWindowSeconds: number },
): Promise<EnqueueResult[]> {
	if (leads.length === 0) return [];
	const pipeline = redis.pipeline();
	for (const lead of leads) {
		pipeline.eval(
			ENQUEUE_SCRIPT, 2, stream, replayKey(lead) ?? '',
			JSON.stringify(leadMessage(lead)), lead.traceId, Math.max(1, Math.floor(o.replayWindowSeconds)), Math.floor(o.maxLen ?? 0),
		);
	}
	const replies = (await pipeline.exec()) ?? [];
	return replies.map(([error, reply], i) => {
		if (error) throw error;
		const [stored, value] = reply as [number, string];
		return stored === 1
			? { traceId: leads[i].traceId, stored: true, id: value }
			: { traceId: leads[i].traceId, stored: false, duplicateOf: value };
	});
}
