import type { HttpResponse } from '../http';
import { resolveMappings } from './mapping';
import { phoneDigits, sameEmail, samePhone } from './phoneMatch';
import { crmRequest, type CrmTransport } from './transport';
import type { CrmLeadRef, CrmOpportunityRef, CrmProvider, FieldMapping, PushInput, SyncLead } from './types';

/**
 * LeadSquared REST v2. Auth headers x-LSQ-AccessKey / x-LSQ-SecretKey; errors
 * {Status:"Error", ExceptionType, ExceptionMessage}; lookups by phone (digits only, matched here on
 * normalized numbers) and by email; Lead.Capture with SearchBy; OpportunityManagement.svc/Capture
 * with the event code, whose duplicate detection answers PostDeDupActionPerformed = 3 and the
 * ConflictedOpportunityId instead of creating a second opportunity.
 */
export interface LeadSquaredConfig {
	/** api-in21.leadsquared.com, or a full URL (https://…; http:// only for a test stand-in). */
	host: string;
	accessKey: string;
	secretKey: string;
	opportunityEventCode: number;
	leadAttributes: FieldMapping[];
	opportunityFields: FieldMapping[];
	/** LeadSquared's schema name of the opportunity owner field. */
	ownerSchemaName?: string;
}

/** https://<host>/v2/ from a bare host or a URL, without a doubled /v2. */
export function leadSquaredBaseUrl(host: string): string {
	const trimmed = host.trim().replace(/\/+$/, '').replace(/\/v2$/i, '');
	const withScheme = /^[a-z]+:\/\//i.test(trimmed) ? trimmed : `https://${trimmed}`;
	return `${withScheme}/v2/`;
}

export function leadSquaredHeaders(accessKey: string, secretKey: string): Record<string, string> {
	return { 'x-LSQ-AccessKey': accessKey, 'x-LSQ-SecretKey': secretKey, accept: 'application/json' };
}

/** LeadSquared's error body; anything else yields undefined and the raw text is used. */
export function readLeadSquaredError(response: HttpResponse): { message: string; type?: string } | undefined {
	const body = response.json<{ Status?: string; ExceptionType?: string; ExceptionMessage?: string; Message?: string }>();
	const message = body.ExceptionMessage ?? (typeof body.Message === 'string' ? body.Message : undefined);
	return message ? { message, type: body.ExceptionType } : undefined;
}

interface LsqLead {
	ProspectID?: string;
	Phone?: string | null;
	Mobile?: string | null;
	EmailAddress?: string | null;
	OwnerId?: string | null;
}

interface LsqOpportunityResponse {
	Status?: string;
	CreatedOpportunityId?: string | null;
	RelatedProspectId?: string | null;
	PostDeDupActionPerformed?: number | string | null;
	ConflictedOpportunityId?: string | null;
	Message?: { Id?: string; RelatedProspectId?: string } | string;
}

/** Duplicate detection in LeadSquared: 3 = an existing opportunity matched (no new one created). */
export const LSQ_DEDUP_DUPLICATE = 3;

function lsqDateTime(date: Date): string {
	return date.toISOString().replace('T', ' ').slice(0, 19);
}

export class LeadSquaredProvider implements CrmProvider {
	readonly platform = 'LEADSQUARED' as const;

	private readonly base: string;

	constructor(
		private readonly config: LeadSquaredConfig,
		private readonly transport: Omit<CrmTransport, 'readError' | 'label' | 'secrets'>,
		private readonly now: () => Date = () => new Date(),
	) {
		this.base = leadSquaredBaseUrl(config.host);
	}

	private get t(): CrmTransport {
		return { ...this.transport, label: 'LeadSquared', secrets: [this.config.accessKey, this.config.secretKey], readError: readLeadSquaredError };
	}

	private headers(): Record<string, string> {
		return leadSquaredHeaders(this.config.accessKey, this.config.secretKey);
	}

	private toRef(found: LsqLead, matchedOn: CrmLeadRef['matchedOn']): CrmLeadRef {
		return { id: String(found.ProspectID), matchedOn, phone: found.Phone ?? found.Mobile ?? undefined, email: found.EmailAddress ?? undefined, ownerId: found.OwnerId ?? undefined };
	}

	async findLead(lead: SyncLead): Promise<CrmLeadRef | null> {
		const digits = phoneDigits(lead.phone);
		if (digits) {
			const url = `${this.base}LeadManagement.svc/RetrieveLeadByPhoneNumber?phone=${encodeURIComponent(digits)}`;
			const found = await crmRequest<LsqLead[]>(this.t, { method: 'GET', url, headers: this.headers(), idempotent: true, what: 'lead lookup by phone' });
			// LeadSquared matches loosely (Phone or Mobile, partial numbers): keep only the same line.
			const match = (Array.isArray(found) ? found : []).find((l) => l.ProspectID && (samePhone(l.Phone, lead.phone) || samePhone(l.Mobile, lead.phone)));
			if (match) return this.toRef(match, 'phone');
		}
		if (lead.email?.trim()) {
			const url = `${this.base}LeadManagement.svc/Leads.GetByEmailaddress?emailaddress=${encodeURIComponent(lead.email.trim())}`;
			const found = await crmRequest<LsqLead[]>(this.t, { method: 'GET', url, headers: this.headers(), idempotent: true, what: 'lead lookup by email' });
			const match = (Array.isArray(found) ? found : []).find((l) => l.ProspectID && sameEmail(l.EmailAddress, lead.email));
			if (match) return this.toRef(match, 'email');
		}
		return null;
	}

	private searchBy(lead: { phone?: string; email?: string }): { attribute: 'Phone' | 'EmailAddress'; value: string } {
		if (lead.phone) return { attribute: 'Phone', value: lead.phone };
		if (lead.email) return { attribute: 'EmailAddress', value: lead.email };
		throw new Error('LeadSquared needs a phone or an email to find or create the lead');
	}

	async createLead(input: PushInput): Promise<CrmLeadRef> {
		const attributes = resolveMappings(this.config.leadAttributes, input.context).filter((a) => a.field !== 'SearchBy' && a.field !== 'OwnerId');
		const search = this.searchBy(input.lead);
		if (!attributes.some((a) => a.field === search.attribute)) attributes.push({ field: search.attribute, value: search.value });
		const body = [
			...attributes.map((a) => ({ Attribute: a.field, Value: a.value })),
			...(input.ownerId ? [{ Attribute: 'OwnerId', Value: input.ownerId }] : []),
			{ Attribute: 'SearchBy', Value: search.attribute },
		];
		const reply = await crmRequest<{ Status?: string; Message?: { Id?: string } }>(this.t, {
			method: 'POST',
			url: `${this.base}LeadManagement.svc/Lead.Capture`,
			headers: this.headers(),
			json: body,
			// Lead.Capture with SearchBy updates the lead it finds: sending it twice is harmless.
			idempotent: true,
			what: 'lead capture',
		});
		const id = reply.Message && typeof reply.Message === 'object' ? reply.Message.Id : undefined;
		if (!id) throw new Error('LeadSquared Lead.Capture answered without Message.Id');
		return { id, matchedOn: 'created', phone: input.lead.phone, email: input.lead.email, ownerId: input.ownerId };
	}

	async createOpportunity(input: PushInput, lead: CrmLeadRef): Promise<CrmOpportunityRef> {
		// Identify the lead the way LeadSquared stores it, so SearchBy finds this one and no other.
		const search = this.searchBy({ phone: lead.phone ?? (lead.matchedOn === 'email' ? undefined : input.lead.phone), email: lead.email ?? input.lead.email });
		const fields = resolveMappings(this.config.opportunityFields, input.context).map((f) => ({ SchemaName: f.field, Value: f.value }));
		const ownerField = this.config.ownerSchemaName ?? 'Owner';
		if (input.ownerId && !fields.some((f) => f.SchemaName === ownerField)) fields.push({ SchemaName: ownerField, Value: input.ownerId });
		const body = {
			LeadDetails: [
				{ Attribute: search.attribute, Value: search.value },
				{ Attribute: 'SearchBy', Value: search.attribute },
			],
			Opportunity: {
				OpportunityEventCode: this.config.opportunityEventCode,
				OpportunityNote: `Lead Pipeline ${input.traceId}`,
				OpportunityDateTime: lsqDateTime(this.now()),
				Fields: fields,
			},
		};
		const reply = await crmRequest<LsqOpportunityResponse>(this.t, {
			method: 'POST',
			url: `${this.base}OpportunityManagement.svc/Capture`,
			headers: this.headers(),
			json: body,
			// Only safe to repeat when duplicate detection is configured: never retried inline.
			idempotent: false,
			what: 'opportunity capture',
		});
		const message = typeof reply.Message === 'object' && reply.Message ? reply.Message : {};
		const duplicate = Number(reply.PostDeDupActionPerformed) === LSQ_DEDUP_DUPLICATE || Boolean(reply.ConflictedOpportunityId && !reply.CreatedOpportunityId);
		const id = duplicate ? (reply.ConflictedOpportunityId ?? reply.CreatedOpportunityId) : (reply.CreatedOpportunityId ?? message.Id);
		if (!id) throw new Error('LeadSquared opportunity capture answered without an opportunity id');
		return { id, leadId: reply.RelatedProspectId ?? message.RelatedProspectId ?? lead.id, existing: duplicate };
	}

	/**
	 * GetOpportunitiesOfLead, matched on the opportunity field that carries the trace id (the
	 * mapping whose value is `traceId`, mx_Custom_1 by default). Without such a field there is
	 * nothing to match on: null.
	 */
	async findOpportunity(input: PushInput, lead: CrmLeadRef): Promise<CrmOpportunityRef | null> {
		const traceField = this.config.opportunityFields.find((f) => f.value.trim() === 'traceId')?.field;
		if (!traceField) return null;
		const query = `leadId=${encodeURIComponent(lead.id)}&opportunityType=${encodeURIComponent(String(this.config.opportunityEventCode))}`;
		const reply = await crmRequest<{ List?: Array<Record<string, unknown>> }>(this.t, {
			method: 'POST',
			url: `${this.base}OpportunityManagement.svc/GetOpportunitiesOfLead?${query}`,
			headers: this.headers(),
			json: { Paging: { PageIndex: 1, PageSize: 100 }, Sorting: { ColumnName: 'CreatedOn', Direction: '1' } },
			// A search: safe to send again.
			idempotent: true,
			what: 'opportunity lookup by trace id',
		});
		const match = (reply.List ?? []).find((o) => o[traceField] === input.traceId);
		const id = match ? (match.OpportunityId ?? match.ProspectActivityId ?? match.Id) : undefined;
		return typeof id === 'string' && id ? { id, leadId: String(match!.ProspectId ?? match!.RelatedProspectId ?? lead.id), existing: true } : null;
	}

	async createFollowUp(): Promise<undefined> {
		// The first reminder is kept in the lead store for LeadSquared (its task API needs a tenant-specific task type).
		return undefined;
	}
}
