import type Redis from 'ioredis';

import type { FieldError } from '../lead';
import { appendWithinCap, type CappedWrite } from '../queue';
import type { ChannelDraft, Rejected } from './draft';

/**
 * Why something that reached the trigger is not in the lead stream:
 * - invalidLead: read, but not a lead (no way to reach the person, a bad field);
 * - honeypot: a form whose hidden honeypot field was filled (answered like a success);
 * - unsupportedPayload: a verified payload no channel reads (e.g. a Facebook Page event).
 */
export type RejectReason = 'invalidLead' | 'honeypot' | 'unsupportedPayload';

/** The one shape of a rejected-stream entry and of a Rejected output item. */
export interface RejectedEntry {
	reason: RejectReason;
	/** One line a person can read. */
	detail: string;
	source?: ChannelDraft['source'];
	errors: FieldError[];
	/** What was read so far (with the sanitized payload in `raw`). */
	lead: Partial<ChannelDraft>;
	rejectedAt: string;
}

export const describeErrors = (errors: FieldError[]) => errors.map((e) => `${e.field || 'lead'}: ${e.message}`).join('; ');

export function rejectedEntry(
	reason: RejectReason,
	detail: string,
	lead: Partial<ChannelDraft>,
	errors: FieldError[] = [],
	now = new Date(),
): RejectedEntry {
	return { reason, detail, source: lead.source, errors, lead, rejectedAt: now.toISOString() };
}

/** A draft finalizeDrafts refused, as a rejected entry. */
export const invalidLeadEntry = (rejected: Rejected, now?: Date): RejectedEntry =>
	rejectedEntry('invalidLead', describeErrors(rejected.errors), rejected.draft, rejected.errors, now);

/** Default most entries a rejected stream holds (option Rejected Stream Cap; 0 = no cap). */
export const DEFAULT_REJECTED_STREAM_CAP = 100_000;

/** The rejected stream is at its cap: the entry was not kept, so the sender must be told to retry. */
export class RejectedStreamFullError extends Error {
	constructor(
		readonly stream: string,
		readonly cap: number,
		readonly refused: number,
	) {
		super(`Rejected stream ${stream} is at its cap of ${cap} entries (option Rejected Stream Cap): ${refused} rejected entr${refused === 1 ? 'y was' : 'ies were'} not kept`);
		this.name = 'RejectedStreamFullError';
	}
}

/**
 * Appends the entries to the rejected stream in one round trip, within `cap` (0 = none). No group
 * reads this stream, so the cap never trims: over it the entries are refused and this throws
 * RejectedStreamFullError (the caller answers 503). Returns the write, whose nearCap says when to warn.
 */
export async function keepRejected(redis: Redis, stream: string, entries: RejectedEntry[], cap = DEFAULT_REJECTED_STREAM_CAP): Promise<CappedWrite | undefined> {
	if (entries.length === 0) return undefined;
	const write = await appendWithinCap(redis, stream, entries, cap);
	if (write.refused > 0) throw new RejectedStreamFullError(stream, cap, write.refused);
	return write;
}
