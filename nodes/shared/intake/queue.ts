import type Redis from 'ioredis';

import type { Lead } from '../lead';
import { addEntriesOnce, type TrimOptions } from '../queue';
import { replayKey } from './replayKeys';

/** The filter-queue message the existing lead backend reads: `{ source, leadData, traceId }`. */
export function leadMessage(lead: Lead): { source: string; leadData: Lead; traceId: string } {
	return { source: lead.source.channel, leadData: lead, traceId: lead.traceId };
}


export type EnqueueResult = { traceId: string; stored: true; id: string } | { traceId: string; stored: false; duplicateOf: string };

/**
 * Appends each lead to the stream in one pipelined round trip (the streams module's add-once). A lead whose channel message id
 * was seen within `replayWindowSeconds` is not appended again; its result names the trace id the
 * first delivery got.
 */
export async function enqueueLeads(
	redis: Redis,
	stream: string,
	leads: Lead[],
	o: TrimOptions & { replayWindowSeconds: number },
): Promise<EnqueueResult[]> {
	const results = await addEntriesOnce(
		redis,
		leads.map((lead) => ({
			stream,
			message: leadMessage(lead),
			onceKey: replayKey(lead),
			rememberValue: lead.traceId,
			rememberSeconds: o.replayWindowSeconds,
		})),
		o,
	);
	return results.map((result, i) =>
		result.stored
			? { traceId: leads[i].traceId, stored: true, id: result.id }
			: { traceId: leads[i].traceId, stored: false, duplicateOf: result.earlier },
	);
}
