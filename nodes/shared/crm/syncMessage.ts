/**
 * The sync queue's one message contract: what the Filter Router and Qualify put on the sync queue,
 * and how CRM Sync reads it back.
 *
 * On the wire a message is `{ _id, traceID, action, source }`: the field names the existing sync
 * consumer (outside this pack) reads, so they stay as they are — `traceID` with a capital D.
 * Everything inside the pack speaks `opportunityId` / `traceId`; this file is the one place the two
 * spellings meet.
 */

/** CREATE: a NO_FILTER lead goes straight to the CRM. PROMOTE_FROM_FILTER: a qualified lead. */
export type SyncAction = 'CREATE' | 'PROMOTE_FROM_FILTER';

/** A message on the sync queue, exactly as it is written to the stream. */
export interface SyncMessage {
	_id: string;
	traceID: string;
	action: SyncAction;
	/**
	 * Where the opportunity comes from, as the sender knows it: the lead's channel for a CREATE
	 * (Filter Router), the filtration process for a PROMOTE_FROM_FILTER (Qualify). CRM Sync does
	 * not read it; CRM field mappings may (as `message.source`).
	 */
	source: string;
}

export interface SyncMessageInput {
	opportunityId: string;
	traceId: string;
	action: SyncAction;
	source: string;
}

/** The message for the sync queue: the one builder both senders use. */
export function buildSyncMessage(input: SyncMessageInput): SyncMessage {
	return { _id: input.opportunityId, traceID: input.traceId, action: input.action, source: input.source };
}

/** What CRM Sync needs from an item: the opportunity, its trace and the raw message (for mappings and the retry queue). */
export interface SyncTarget {
	opportunityId?: string;
	traceId?: string;
	/** The message as it came (legacy fields kept): parked for retry and offered to mappings verbatim. */
	message?: unknown;
}

type Fields = Record<string, unknown>;

const isObject = (value: unknown): value is Fields => typeof value === 'object' && value !== null;

/**
 * The one compatibility step for what may be on a sync queue or handed to CRM Sync, newest first:
 * - a consumer-trigger delivery `{ id, stream, message: { _id, traceID, ... } }` (the message is
 *   under `message`);
 * - a bare sync message `{ _id, traceID, ... }`;
 * - camel-case `traceId` instead of `traceID` (older senders and hand-made messages);
 * - `opportunityId` instead of `_id`, in the message or on the item (an opportunity item from
 *   Dedupe / Filter Router rather than a sync message);
 * - `_id` / `traceId` on the item beside a message that lacks them.
 * The first spelling present wins, in the order above. An id that is not a non-blank string
 * counts as absent (the item then fails as "no opportunity id").
 */
export function readSyncMessage(raw: Fields): SyncTarget {
	const message = isObject(raw.message) ? raw.message : raw;
	const id = message._id ?? message.opportunityId ?? raw.opportunityId ?? raw._id;
	const traceId = message.traceID ?? message.traceId ?? raw.traceId;
	return {
		opportunityId: typeof id === 'string' && id.trim() ? id.trim() : undefined,
		traceId: typeof traceId === 'string' ? traceId : undefined,
		message,
	};
}
