import type Redis from 'ioredis';

import type { FieldError } from '../lead';
import { addEntries } from '../streams';
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

/** Appends the entries to the rejected stream in one round trip; throws if Redis refused any. */
export async function keepRejected(redis: Redis, stream: string, entries: RejectedEntry[]): Promise<void> {
	const results = await addEntries(redis, entries.map((message) => ({ stream, message })));
	const refused = results.find((r) => !r.ok);
	if (refused && !refused.ok) throw refused.error;
}
