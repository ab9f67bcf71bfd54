import type Redis from 'ioredis';

import { type DeliveryEnvelope, deferDeliveries, releaseDue, type WebhookQueueNames } from '../webhook';

/**
 * CRM Sync's retry queue: sync messages held until a due time, then put back on the stream they
 * came from (the sync queue), where the consumer delivers them again as new entries. It is the
 * pack's one due-time queue (webhookQueue's delay set: ZADD <stream>:scheduled + the envelopes
 * hash, released by a lock-guarded move), reused as is: that queue reads only webhookId,
 * nextAttempt and notBefore of an envelope and stores the rest verbatim, so a sync message parks
 * there under `crm:<opportunityId>` without a second implementation.
 *
 * Why not leave the entry pending for the consumer: every redelivery counts toward Max Retries,
 * and being throttled, or never tried because another item failed, is no reason to dead-letter.
 */
export interface CrmRetryState {
	/** Real failures so far (a deferral for a throttle or an untried item adds none). */
	attempts: number;
	/** The last real failure of this item (never another item's). */
	lastError?: string;
	/** Epoch ms before which it is not released. */
	retryAt: number;
}

export interface CrmRetryEntry {
	/** The stream the message came from and goes back to. */
	stream: string;
	opportunityId: string;
	message: Record<string, unknown>;
	retry: CrmRetryState;
}

/** The retry bookkeeping a released message carries; none on a first delivery. */
export function retryStateOf(message: unknown): { attempts: number; lastError?: string } {
	const state = message && typeof message === 'object' ? (message as { crmRetry?: { attempts?: unknown; lastError?: unknown } }).crmRetry : undefined;
	const attempts = Number(state?.attempts);
	return { attempts: Number.isFinite(attempts) && attempts > 0 ? Math.floor(attempts) : 0, ...(typeof state?.lastError === 'string' ? { lastError: state.lastError } : {}) };
}

function queueNames(stream: string): WebhookQueueNames {
	return { keyPrefix: stream, retryStream: stream, dlqStream: `${stream}:unused` };
}

function envelopeOf(entry: CrmRetryEntry): DeliveryEnvelope {
	// The bookkeeping of an earlier parking is replaced, never nested.
	const message = { ...entry.message };
	for (const field of ['crmRetry', 'webhookId', 'nextAttempt', 'notBefore']) delete message[field];
	const parked = { ...message, crmRetry: entry.retry, webhookId: `crm:${entry.opportunityId}`, nextAttempt: entry.retry.attempts, notBefore: entry.retry.retryAt };
	// Not a webhook delivery (no url, payload...): the delay set reads only webhookId, nextAttempt and notBefore, the rest is stored verbatim.
	return parked as unknown as DeliveryEnvelope;
}

/** Parks the entries (one member per opportunity and attempt count: a repeat replaces it). */
export async function parkForRetry(redis: Redis, entries: CrmRetryEntry[]): Promise<void> {
	const byStream = new Map<string, CrmRetryEntry[]>();
	for (const e of entries) byStream.set(e.stream, [...(byStream.get(e.stream) ?? []), e]);
	for (const [stream, list] of byStream) await deferDeliveries(redis, queueNames(stream), list.map(envelopeOf));
}

/** Puts the messages due by `now` back on `stream`; how many. */
export async function releaseDueRetries(redis: Redis, stream: string, now: number): Promise<number> {
	return await releaseDue(redis, queueNames(stream), now);
}
