import type { HttpResponse } from '../http';
import { resolveMappings } from './mapping';
import { phoneDigits, sameEmail, samePhone } from './phoneMatch';
import { crmRequest, type CrmTransport } from './transport';
import type { CrmLeadRef, CrmOpportunityRef, CrmProvider, FieldMapping, PushInput, SyncLead } from './types';

/**
 * The in-house CRM REST contract (docs/crm-contract.md, so a team can implement it):
 *   Authorization: Bearer <API key> on every request
 *   GET  /leads?phone=<digits>&email=<email>  → 200 { leads: [{ id, name, phone, email, ownerId }] }
 *   POST /leads          { name, phone, email, ownerId, source, fields }           → 201 { id }
 *   POST /opportunities  { leadId, traceId, opportunityId, ownerId, stage, crmStageMeta, fields } → 201 { id, leadId }
 *   POST /follow-ups     { leadId, opportunityId, dueAt, type, note }               → 201 { id }
 *   Idempotency-Key: <traceId> on every POST; a repeated key on the same endpoint answers the
 *   first response (200 or 201) and creates nothing.
 *   Errors: 4xx/5xx { error: "<message>" }; 429 with Retry-After (seconds).
 */
export interface InhouseConfig {
	baseUrl: string;
	apiKey: string;
	leadFields: FieldMapping[];
	opportunityFields: FieldMapping[];
}

export function inhouseHeaders(apiKey: string): Record<string, string> {
	return { authorization: `Bearer ${apiKey}`, accept: 'application/json' };
}

export function readInhouseError(response: HttpResponse): { message: string; type?: string } | undefined {
	const body = response.json<{ error?: unknown; message?: unknown; code?: unknown }>();
	const message = typeof body.error === 'string' ? body.error : typeof body.message === 'string' ? body.message : undefined;
	return message ? { message, type: typeof body.code === 'string' ? body.code : undefined } : undefined;
}

interface InhouseLead {
	id?: string | number;
	phone?: string | null;
	email?: string | null;
	ownerId?: string | null;
}

function fieldsObject(mappings: FieldMapping[], context: Record<string, unknown>): Record<string, string> {
	return Object.fromEntries(resolveMappings(mappings, context).map((m) => [m.field, m.value]));
}

export class InhouseCrmProvider implements CrmProvider {
	readonly platform = 'INHOUSE' as const;

	private readonly base: string;

	constructor(
		private readonly config: InhouseConfig,
		private readonly transport: Omit<CrmTransport, 'readError' | 'label' | 'secrets'>,
	) {
		this.base = config.baseUrl.trim().replace(/\/+$/, '');
	}

	private get t(): CrmTransport {
		return { ...this.transport, label: 'In-house CRM', secrets: [this.config.apiKey], readError: readInhouseError };
	}

	private post(traceId: string): Record<string, string> {
		return { ...inhouseHeaders(this.config.apiKey), 'idempotency-key': traceId, 'content-type': 'application/json' };
	}

	async findLead(lead: SyncLead): Promise<CrmLeadRef | null> {
		const query = new URLSearchParams();
		const digits = phoneDigits(lead.phone);
		if (digits) query.set('phone', digits);
		if (lead.email?.trim()) query.set('email', lead.email.trim().toLowerCase());
		if ([...query.keys()].length === 0) return null;
		const reply = await crmRequest<{ leads?: InhouseLead[] } | InhouseLead[]>(this.t, {
			method: 'GET',
			url: `${this.base}/leads?${query.toString()}`,
			headers: inhouseHeaders(this.config.apiKey),
			idempotent: true,
			what: 'lead lookup',
		});
		const leads = (Array.isArray(reply) ? reply : reply.leads ?? []).filter((l) => l.id !== undefined && l.id !== null);
		const ref = (l: InhouseLead, matchedOn: CrmLeadRef['matchedOn']): CrmLeadRef => ({ id: String(l.id), matchedOn, phone: l.phone ?? undefined, email: l.email ?? undefined, ownerId: l.ownerId ?? undefined });
		const byPhone = lead.phone ? leads.find((l) => samePhone(l.phone, lead.phone)) : undefined;
		if (byPhone) return ref(byPhone, 'phone');
		const byEmail = lead.email ? leads.find((l) => sameEmail(l.email, lead.email)) : undefined;
		return byEmail ? ref(byEmail, 'email') : null;
	}

	async createLead(input: PushInput): Promise<CrmLeadRef> {
		const json = {
			name: input.lead.name,
			phone: input.lead.phone,
			email: input.lead.email,
			ownerId: input.ownerId,
			source: (input.context.opportunity as { channel?: string } | undefined)?.channel,
			fields: fieldsObject(this.config.leadFields, input.context),
		};
		const reply = await crmRequest<{ id?: string | number }>(this.t, { method: 'POST', url: `${this.base}/leads`, headers: this.post(input.traceId), json, idempotent: true, what: 'lead create' });
		if (reply.id === undefined || reply.id === null) throw new Error('The in-house CRM answered POST /leads without an id');
		return { id: String(reply.id), matchedOn: 'created', phone: input.lead.phone, email: input.lead.email, ownerId: input.ownerId };
	}

	async createOpportunity(input: PushInput, lead: CrmLeadRef): Promise<CrmOpportunityRef> {
		const json = {
			leadId: lead.id,
			traceId: input.traceId,
			opportunityId: input.opportunityId,
			ownerId: input.ownerId,
			stage: input.stage,
			crmStageMeta: { stage: input.stage, source: 'lead-pipeline' },
			fields: fieldsObject(this.config.opportunityFields, input.context),
		};
		const reply = await crmRequest<{ id?: string | number; leadId?: string | number; replayed?: boolean }>(this.t, {
			method: 'POST',
			url: `${this.base}/opportunities`,
			headers: this.post(input.traceId),
			json,
			idempotent: true,
			what: 'opportunity create',
		});
		if (reply.id === undefined || reply.id === null) throw new Error('The in-house CRM answered POST /opportunities without an id');
		return { id: String(reply.id), leadId: String(reply.leadId ?? lead.id), existing: reply.replayed === true };
	}

	async createFollowUp(input: PushInput, opportunity: CrmOpportunityRef, dueAt: string): Promise<{ id?: string }> {
		const json = { leadId: opportunity.leadId, opportunityId: opportunity.id, dueAt, type: 'REMINDER', note: 'First follow-up (Lead Pipeline)' };
		const reply = await crmRequest<{ id?: string | number }>(this.t, { method: 'POST', url: `${this.base}/follow-ups`, headers: this.post(input.traceId), json, idempotent: true, what: 'follow-up create' });
		return { id: reply.id === undefined ? undefined : String(reply.id) };
	}
}
