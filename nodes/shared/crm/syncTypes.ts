import type { CrmLeadRef, CrmPlatform, SyncLead } from './types';

/** The shapes syncOpportunity works on: the opportunity as the store gives it, the store port, the options and the outcome. */

export interface SyncOpportunity {
	opportunityId: string;
	traceId: string;
	stage?: string;
	filtrationProcess?: string;
	isPushed?: boolean;
	/** The store's CRM state: pushState, lease, and after a push the record CRM Sync wrote. */
	crm?: { pushState?: string; pushedAt?: string; id?: string; system?: string; leadId?: string; opportunityId?: string; firstFollowUp?: unknown };
	crmLeadId?: string;
	crmOpportunityId?: string;
	salesPersonToBeAssigned?: unknown;
	firstFollowUp?: unknown;
	[field: string]: unknown;
}

export type LeaseState = 'acquired' | 'leased' | 'expired' | 'pushed';

/** What CRM Sync writes back on the opportunity when the push is done. */
export interface PushRecord {
	crmPlatform: CrmPlatform;
	crmLeadId: string;
	/** LeadSquared's ProspectID under the name the existing backend reads. */
	leadSquadId?: string;
	crmOpportunityId: string;
	isPushed: true;
	crmStageMeta: { stage: string; platform: CrmPlatform; at: string };
	owner?: { crmUserId: string; name?: string };
	firstFollowUp?: { dueAt: string; crmId?: string; createdAt: string };
}

export interface SyncStorePort {
	load(opportunityId: string): Promise<{ opportunity: SyncOpportunity; lead: SyncLead } | null>;
	acquireLease(opportunityId: string, holder: string, ttlMs: number): Promise<{ state: LeaseState; expiresAt?: string }>;
	/**
	 * Writes the record, marks pushed, ends the lease, audits — atomically in the store, and only
	 * while `holder` holds the lease: `lost` when another execution took it over meanwhile.
	 */
	completePush(opportunityId: string, holder: string, record: PushRecord): Promise<{ lost?: boolean }>;
	/** Extends the lease while `holder` still holds it (compare-token); false when it is not ours. */
	renewLease(opportunityId: string, holder: string, ttlMs: number): Promise<boolean>;
	releaseLease(opportunityId: string, holder: string): Promise<void>;
	/** UPCOMING destinations wait: stage UPCOMING_FRESH_LEAD (audited). */
	markUpcoming(opportunityId: string): Promise<void>;
}

export interface SyncOptions {
	/** Lookups only, nothing written anywhere (editor test runs). */
	dryRun: boolean;
	holder: string;
	leaseTtlMs: number;
	/** Fallback sales person when the opportunity names none. */
	defaultOwner?: { crmUserId: string; name?: string };
	followUp: { enabled: boolean; afterHours: number };
	now?: () => Date;
}

export type SyncOutcome =
	| {
			kind: 'synced';
			opportunityId: string;
			traceId: string;
			crmPlatform: CrmPlatform;
			crmLeadId: string;
			crmOpportunityId: string;
			leadCreated: boolean;
			matchedOn: CrmLeadRef['matchedOn'];
			opportunityExisted: boolean;
			owner?: { crmUserId: string; name?: string };
			followUp?: { dueAt: string; crmId?: string };
			/** An earlier push died mid-way (expired lease): the CRM was searched before creating. */
			recoveredExpiredLease: boolean;
	  }
	| { kind: 'skipped'; opportunityId: string; traceId?: string; reason: string; crmLeadId?: string; crmOpportunityId?: string }
	| { kind: 'failed'; opportunityId: string; traceId?: string; error: string; crmMessage?: string; status?: number; crmErrorType?: string }
	| {
			kind: 'testRun';
			opportunityId: string;
			traceId: string;
			crmPlatform: CrmPlatform;
			existingCrmLead?: CrmLeadRef;
			wouldCreateLead: boolean;
			wouldCreateOpportunity: boolean;
			wouldCreateFollowUp: boolean;
			owner?: { crmUserId: string; name?: string };
	  };
