import type { BotFieldMapping, FormFieldMapping } from './fieldMappings';
import { capRaw, normalizeLead, type FieldError, type Lead, type LeadChannel, type LeadDraft, type RawPolicy, type CountryCode, newTraceId } from '../lead';

/** A lead as a channel adapter read it, before trace id, time and normalization. */
export type ChannelDraft = Omit<LeadDraft, 'traceId' | 'receivedAt' | 'source'> & {
	source: { channel: LeadChannel; id?: string; messageId?: string; idempotencyKey?: string; importId?: string; importRow?: number };
};

/** A part of a verified payload the adapter cannot make a lead of; the trigger keeps it as rejected. */
export interface Unsupported {
	/** Why, for a person (the rejected entry's detail). */
	detail: string;
	raw: unknown;
}

export interface Extracted {
	drafts: ChannelDraft[];
	/** Non-lead events (WhatsApp delivery statuses, system messages), kept for an optional output. */
	events: unknown[];
	/** Parts no lead can be made of (never dropped: the trigger keeps them in the rejected stream). */
	unsupported?: Unsupported[];
}

/** What every intake channel may need besides the body: the node's field mappings and country. */
export interface IntakeContext {
	formFields: FormFieldMapping;
	botFields: BotFieldMapping;
	/** For numbers written without a country code (and phone numbers found in message text). */
	defaultCountry?: CountryCode;
}

/**
 * One intake channel: a verified request body to lead drafts, the events that are no lead, and
 * the parts no lead can be made of (kept as rejected, never dropped). Pure: no I/O, no clock.
 */
export type IntakeChannel = (body: unknown, context: IntakeContext) => Extracted;

/** A body that is no JSON object (or form) holds no lead: the whole of it is unsupported. */
export const notAnObject = (body: unknown): Extracted => ({
	drafts: [],
	events: [],
	unsupported: [{ detail: 'the body must be a JSON object or a form', raw: body }],
});

export interface Rejected {
	/** Position among the payload's leads. */
	index: number;
	messageId?: string;
	errors: FieldError[];
	draft: ChannelDraft;
}

export interface Finalized {
	leads: Lead[];
	rejected: Rejected[];
}

export interface FinalizeOptions {
	defaultCountry?: CountryCode;
	receivedAt?: Date;
	/** How much of the received payload a lead keeps in `raw` (default: all of it, capped). */
	raw?: RawPolicy;
	/** Mark the leads as an editor test run's (see Lead.testRun). */
	testRun?: boolean;
}

/** The draft with `raw` capped (or removed) per the policy. */
export function withRawPolicy<T extends { raw?: unknown }>(draft: T, policy?: RawPolicy): T {
	const out = { ...draft, raw: capRaw(draft.raw, policy) };
	if (out.raw === undefined) delete out.raw;
	return out;
}

/** Stamps trace id and time on every draft and normalizes it; bad ones come back with field errors. */
export function finalizeDrafts(drafts: ChannelDraft[], options: FinalizeOptions = {}): Finalized {
	const receivedAt = (options.receivedAt ?? new Date()).toISOString();
	const leads: Lead[] = [];
	const rejected: Rejected[] = [];
	drafts.forEach((received, index) => {
		const draft = withRawPolicy(received, options.raw);
		const stamped = { ...draft, traceId: newTraceId(), receivedAt, ...(options.testRun ? { testRun: true as const } : {}) };
		const result = normalizeLead(stamped, { defaultCountry: options.defaultCountry });
		if (result.ok) leads.push(result.value);
		else rejected.push({ index, messageId: draft.source.messageId, errors: result.errors, draft });
	});
	return { leads, rejected };
}

/** Reads a top-level or dotted path (`answers.city`) from a JSON object. */
export function pick(value: unknown, path: string): unknown {
	let current = value;
	for (const part of path.split('.').filter(Boolean)) {
		if (current === null || typeof current !== 'object') return undefined;
		current = (current as Record<string, unknown>)[part];
	}
	return current;
}

export function textOf(value: unknown): string | undefined {
	if (typeof value === 'string') return value.trim() || undefined;
	if (typeof value === 'number' || typeof value === 'boolean') return String(value);
	return undefined;
}

export const isRecord = (value: unknown): value is Record<string, unknown> =>
	value !== null && typeof value === 'object' && !Array.isArray(value);
