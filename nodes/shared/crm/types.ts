/** The CRM side of CRM Sync, independent of any CRM: what a provider must answer. */

export type CrmPlatform = 'LEADSQUARED' | 'INHOUSE';

/** The person as the lead store knows them. */
export interface SyncLead {
	name?: string;
	phone?: string;
	email?: string;
	waId?: string;
}

/** What a provider needs to write one opportunity. */
export interface PushInput {
	traceId: string;
	opportunityId: string;
	lead: SyncLead;
	/** Everything mapping paths may read: { lead, opportunity, traceId, owner }. */
	context: Record<string, unknown>;
	/** CRM user id of the assigned sales person. */
	ownerId?: string;
	/** The stage the opportunity enters the CRM with (recorded as crmStageMeta). */
	stage: string;
}

export interface CrmLeadRef {
	id: string;
	matchedOn: 'phone' | 'email' | 'created';
	/** The number / address exactly as the CRM stores it (searching by it finds this lead). */
	phone?: string;
	email?: string;
	ownerId?: string;
}

export interface CrmOpportunityRef {
	id: string;
	leadId: string;
	/** The CRM found an existing opportunity for this lead (dedupe / idempotent replay) instead of creating one. */
	existing: boolean;
}

export interface CrmProvider {
	readonly platform: CrmPlatform;
	/** By phone (digits, matched on normalized numbers), then by email; null when neither matches. */
	findLead(lead: SyncLead): Promise<CrmLeadRef | null>;
	createLead(input: PushInput): Promise<CrmLeadRef>;
	createOpportunity(input: PushInput, lead: CrmLeadRef): Promise<CrmOpportunityRef>;
	/**
	 * The opportunity an earlier attempt of this push created (by trace id), for CRMs without an
	 * idempotency key: searched before creating on a takeover and after a create whose reply was
	 * lost. Absent: the CRM's own idempotency makes a repeated create safe.
	 */
	findOpportunity?(input: PushInput, lead: CrmLeadRef): Promise<CrmOpportunityRef | null>;
	/** A first follow-up in the CRM; providers without one return undefined (recorded locally only). */
	createFollowUp(input: PushInput, opportunity: CrmOpportunityRef, dueAt: string): Promise<{ id?: string } | undefined>;
}

/** One CRM field and where its value comes from. */
export interface FieldMapping {
	/** LeadSquared attribute / opportunity SchemaName, or the in-house field name. */
	field: string;
	/** A path in the push context (lead.name, opportunity.destination, traceId, owner.name), else a fixed text. */
	value: string;
}
