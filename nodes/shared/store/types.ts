import type { FiltrationProcess, LeadChannel } from '../lead';

/**
 * The documents the lead store keeps — an opportunity with its CRM and promotion state, a person's
 * profile — and the audit trail's entries. They sit apart from the store contract (contract.ts) and
 * the plans on them (opportunityOps.ts, opportunityStore.ts) so those import the shapes without
 * importing each other.
 */

export interface StoredOpportunity {
	opportunityId: string;
	traceId: string;
	leadId: string;
	channel: LeadChannel;
	destination?: string;
	stage: string;
	filtrationProcess?: FiltrationProcess;
	crm?: CrmState;
	createdAt: string;
	updatedAt: string;
	[field: string]: unknown;
}

export interface StoredProfile {
	leadId: string;
	phone?: string;
	waId?: string;
	email?: string;
	name?: string;
	createdAt?: string;
	updatedAt?: string;
}

export interface Actor {
	/** Who: a node, a user, a workflow. */
	by: string;
	traceId: string;
}

export interface AuditEntry {
	at: string;
	by: string;
	traceId: string;
	action: 'setFiltration' | 'transitionStage' | 'assignSalesPerson' | 'promote' | 'promotionSent' | 'pushLease' | 'pushCompleted' | 'pushLeaseReleased';
	from?: unknown;
	to?: unknown;
}

/** Lease on a CRM push or a promotion: expiry as epoch ms, the owner unique per attempt. */
export interface Lease {
	owner: string;
	until: number;
}

export interface CrmState {
	pushState?: 'pushing' | 'pushed';
	lease?: Lease;
	system?: string;
	id?: string;
	leadId?: string;
	opportunityId?: string;
	pushedAt?: string;
	[field: string]: unknown;
}

export interface PromotionState {
	state: 'sending' | 'sent';
	lease?: Lease;
	entryId?: string;
	sentAt?: string;
}
