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

/** The lead in an item: a canonical Lead, or a consumed queue message { message: { leadData, source, traceId } }. */
export function leadOfItem(json: Json): LeadFields {
	const message = json.message as Json | undefined;
	const lead = (message?.leadData ?? json.leadData ?? json) as LeadFields;
	return { ...lead, traceId: lead.traceId ?? (message?.traceId as string | undefined) ?? (json.traceId as string | undefined) };
}

/** The lead's source channel: the lead's own, else the queue message's `source`. */
export function channelOfItem(json: Json): string | undefined {
	const lead = leadOfItem(json);
	const message = json.message as Json | undefined;
	return lead.source?.channel ?? (typeof message?.source === 'string' ? message.source : undefined);
}
