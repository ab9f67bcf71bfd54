import type Redis from 'ioredis';

import type { LeadStore } from '../store';
import { addEntries } from '../queue';
import type { SyncMessage } from './syncMessage';

export interface HandoffRequest {
	namespace: string;
	opportunityId: string;
	traceId: string;
	/** Stage the opportunity takes when it is handed over (unchanged on a redelivery). */
	stage: string;
	by: string;
	message: SyncMessage;
}

/** The hand-over of one built message: its opportunity and trace are read from the message itself. */
export function handoffRequestOf(message: SyncMessage, where: { namespace: string; stage: string; by: string }): HandoffRequest {
	return { namespace: where.namespace, opportunityId: message._id, traceId: message.traceID, stage: where.stage, by: where.by, message };
}

export type HandoffOutcome =
	| { status: 'sent'; entryId: string; promotedAt?: string }
	| { status: 'alreadySent'; promotedAt?: string }
	| { status: 'busy' }
	| { status: 'failed'; error: Error };

/** How long one attempt may take between taking the promotion and confirming the XADD. */
export const HANDOFF_LEASE_MS = 60_000;

/**
 * Hands opportunities to the sync queue once each: promoteOnce in the store, the XADDs in one
 * pipelined round trip, then promotionSent. A redelivery after the send gets 'alreadySent'. The
 * lease is owned by the message's traceId, so the redelivery of a message whose execution died
 * between promote and send (n8n killed) takes its own lease back and sends at once — waiting for
 * the lease to lapse would fail the redelivered batch. It can double the message, never lose it
 * (CRM Sync is idempotent). 'busy' = a different message is sending it right now (retry later).
 */
export async function handOffOnce(store: LeadStore, redis: Redis, syncQueue: string, requests: HandoffRequest[], leaseMs = HANDOFF_LEASE_MS): Promise<HandoffOutcome[]> {
	const outcomes: HandoffOutcome[] = [];
	const toSend: number[] = [];
	for (const [i, r] of requests.entries()) {
		try {
			const { state, opportunity } = await store.promoteOnce(r.namespace, r.opportunityId, { by: r.by, traceId: r.traceId, stage: r.stage, owner: r.traceId, leaseMs });
			if (state === 'done') outcomes[i] = { status: 'alreadySent', promotedAt: opportunity.promotedAt as string | undefined };
			else if (state === 'leased') outcomes[i] = { status: 'busy' };
			else {
				toSend.push(i);
				outcomes[i] = { status: 'sent', entryId: '', promotedAt: opportunity.promotedAt as string | undefined };
			}
		} catch (error) {
			outcomes[i] = { status: 'failed', error: error as Error };
		}
	}
	const written = await addEntries(redis, toSend.map((i) => ({ stream: syncQueue, message: requests[i].message })));
	for (const [k, i] of toSend.entries()) {
		const result = written[k];
		if (!result.ok) {
			// Not confirmed: the lease lapses and a retry sends it.
			outcomes[i] = { status: 'failed', error: result.error };
			continue;
		}
		const r = requests[i];
		await store.promotionSent(r.namespace, r.opportunityId, { by: r.by, traceId: r.traceId, entryId: result.id });
		outcomes[i] = { ...(outcomes[i] as { promotedAt?: string }), status: 'sent', entryId: result.id };
	}
	return outcomes;
}
