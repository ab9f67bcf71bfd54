import type { LeadChannel } from './lead';

export interface LeadFields {
	traceId?: string;
	source?: { channel?: LeadChannel };
	name?: string;
	phone?: string;
	waId?: string;
	email?: string;
	destination?: string;
	[field: string]: unknown;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The lead in an item: a canonical Lead, a consumed queue message { message: { leadData, source,
 * traceId } }, or a queue message that is the lead itself (the outreach queue's { message: { traceId,
 * name, phone, waId } }). A text `message` is a form's free-text field, not a queue message.
 */
export function leadOfItem(json: Json): LeadFields {
	const message = isObject(json.message) ? json.message : undefined;
	const lead = (message?.leadData ?? json.leadData ?? message ?? json) as LeadFields;
	return { ...lead, traceId: lead.traceId ?? (message?.traceId as string | undefined) ?? (json.traceId as string | undefined) };
}

/** The lead's source channel: the lead's own, else the queue message's `source`. */
export function channelOfItem(json: Json): string | undefined {
	const lead = leadOfItem(json);
	const message = json.message as Json | undefined;
	return lead.source?.channel ?? (typeof message?.source === 'string' ? message.source : undefined);
}
