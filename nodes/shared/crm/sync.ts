import { CrmDeferredError, CrmPermanentError, PushInProgressError } from './errors';
import type { SyncTarget } from './syncMessage';
import type { CrmLeadRef, CrmOpportunityRef, CrmPlatform, CrmProvider, PushInput, SyncLead } from './types';

/**
 * One opportunity to the CRM, the way the existing sync consumer does it: skip UPCOMING
 * destinations, skip what is already pushed, take the push lease, find the CRM lead by phone then
 * email, create the lead if none, create the opportunity, write the CRM ids back and release the
 * lease by completing the push, then the first follow-up of a FRESH_LEAD. Pure: the store and the
 * CRM come in as ports.
 */

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

export const UPCOMING_PROCESS = 'UPCOMING';
export const UPCOMING_FRESH_LEAD = 'UPCOMING_FRESH_LEAD';
const UPCOMING_PROMOTED = ['UPCOMING_QUALIFIED'];
export const FRESH_LEAD = 'FRESH_LEAD';

/** The sales person on the opportunity: a CRM user id, or { crmUserId | id | userId, name }. */
export function salesPersonOf(value: unknown): { crmUserId: string; name?: string } | undefined {
	if (typeof value === 'string' && value.trim()) return { crmUserId: value.trim() };
	if (value && typeof value === 'object') {
		const v = value as Record<string, unknown>;
		const id = v.crmUserId ?? v.userId ?? v.id;
		if (typeof id === 'string' && id.trim()) return { crmUserId: id.trim(), ...(typeof v.name === 'string' ? { name: v.name } : {}) };
	}
	return undefined;
}

function alreadyPushed(o: SyncOpportunity): boolean {
	return o.isPushed === true || o.crm?.pushState === 'pushed' || Boolean(o.crm?.pushedAt);
}

/** The stage the opportunity enters the CRM with: what the pipeline gave it, FRESH_LEAD by default. */
function crmStageOf(o: SyncOpportunity): string {
	return !o.stage || o.stage === 'NEW' ? FRESH_LEAD : o.stage;
}

export async function syncOpportunity(
	store: SyncStorePort,
	crm: CrmProvider,
	target: SyncTarget & { opportunityId: string },
	options: SyncOptions,
): Promise<SyncOutcome> {
	const now = options.now ?? (() => new Date());
	const loaded = await store.load(target.opportunityId);
	if (!loaded) {
		return { kind: 'failed', opportunityId: target.opportunityId, traceId: target.traceId, error: `No opportunity ${target.opportunityId} in the lead store (check the namespace in Pipeline Settings)` };
	}
	const { opportunity, lead } = loaded;
	const traceId = opportunity.traceId ?? target.traceId;
	const base = { opportunityId: opportunity.opportunityId, traceId };
	if (alreadyPushed(opportunity)) {
		return { kind: 'skipped', ...base, reason: 'already pushed to the CRM', crmLeadId: opportunity.crm?.leadId ?? opportunity.crmLeadId ?? opportunity.crm?.id, crmOpportunityId: opportunity.crm?.opportunityId ?? opportunity.crmOpportunityId };
	}
	if (opportunity.filtrationProcess === UPCOMING_PROCESS && !UPCOMING_PROMOTED.includes(String(opportunity.stage))) {
		if (!options.dryRun && opportunity.stage !== UPCOMING_FRESH_LEAD) await store.markUpcoming(opportunity.opportunityId);
		return { kind: 'skipped', ...base, reason: `UPCOMING destination: kept as ${UPCOMING_FRESH_LEAD} until promoted` };
	}
	if (!lead.phone && !lead.email) {
		return { kind: 'failed', ...base, error: 'The lead has no phone and no email: the CRM lead can be neither found nor created' };
	}
	// salesPersonToBeAssigned (the existing backend's field) wins over Qualify's assignSalesPerson.
	const owner = salesPersonOf(opportunity.salesPersonToBeAssigned) ?? salesPersonOf(opportunity.salesPerson) ?? options.defaultOwner;
	const stage = crmStageOf(opportunity);
	const input: PushInput = {
		traceId,
		opportunityId: opportunity.opportunityId,
		lead,
		context: { lead, opportunity, traceId, opportunityId: opportunity.opportunityId, owner, message: target.message },
		ownerId: owner?.crmUserId,
		stage,
	};
	const wantsFollowUp = options.followUp.enabled && stage === FRESH_LEAD && !opportunity.firstFollowUp && !opportunity.crm?.firstFollowUp;

	if (options.dryRun) {
		const existing = await crm.findLead(lead);
		return {
			kind: 'testRun',
			...base,
			crmPlatform: crm.platform,
			existingCrmLead: existing ?? undefined,
			wouldCreateLead: !existing,
			wouldCreateOpportunity: true,
			wouldCreateFollowUp: wantsFollowUp,
			owner,
		};
	}

	const lease = await store.acquireLease(opportunity.opportunityId, options.holder, options.leaseTtlMs);
	if (lease.state === 'pushed') return { kind: 'skipped', ...base, reason: 'already pushed to the CRM (by a concurrent execution)' };
	if (lease.state === 'leased') throw new PushInProgressError(opportunity.opportunityId, lease.expiresAt);

	// Once a create request may have reached the CRM, the lease is left to expire on a transient
	// failure instead of released: the CRM may still be writing, and whoever takes the expired
	// lease searches the CRM first.
	let mayHaveWritten = false;
	const held = keepLease(store, opportunity.opportunityId, options.holder, options.leaseTtlMs);
	try {
		let crmLead = await crm.findLead(lead);
		const leadCreated = !crmLead;
		if (!crmLead) {
			mayHaveWritten = true;
			crmLead = await crm.createLead(input);
		}
		mayHaveWritten = true;
		// A takeover: the execution that died may have created the opportunity already.
		const earlier = lease.state === 'expired' && crm.findOpportunity ? await crm.findOpportunity(input, crmLead) : null;
		if (!earlier && held.lost()) throw new PushInProgressError(opportunity.opportunityId);
		// A create whose reply is lost (CrmOutcomeUnknownError) is not searched for at once (the CRM
		// may still be writing): the lease is left to lapse and the takeover above searches first.
		const crmOpportunity: CrmOpportunityRef = earlier ?? (await crm.createOpportunity(input, crmLead));
		let followUp: PushRecord['firstFollowUp'];
		if (wantsFollowUp) {
			const dueAt = new Date(now().getTime() + options.followUp.afterHours * 3_600_000).toISOString();
			const created = await crm.createFollowUp(input, crmOpportunity, dueAt);
			followUp = { dueAt, ...(created?.id ? { crmId: created.id } : {}), createdAt: now().toISOString() };
		}
		const record: PushRecord = {
			crmPlatform: crm.platform,
			crmLeadId: crmOpportunity.leadId,
			...(crm.platform === 'LEADSQUARED' ? { leadSquadId: crmOpportunity.leadId } : {}),
			crmOpportunityId: crmOpportunity.id,
			isPushed: true,
			crmStageMeta: { stage, platform: crm.platform, at: now().toISOString() },
			...(owner ? { owner } : {}),
			...(followUp ? { firstFollowUp: followUp } : {}),
		};
		held.stop();
		// Fenced: a holder whose lease was taken over records nothing; the taker finds what this
		// push created and completes it.
		const completed = await store.completePush(opportunity.opportunityId, options.holder, record);
		if (completed?.lost) throw new PushInProgressError(opportunity.opportunityId);
		return {
			kind: 'synced',
			...base,
			crmPlatform: crm.platform,
			crmLeadId: record.crmLeadId,
			crmOpportunityId: record.crmOpportunityId,
			leadCreated,
			matchedOn: crmLead.matchedOn,
			opportunityExisted: crmOpportunity.existing,
			owner,
			followUp: followUp ? { dueAt: followUp.dueAt, crmId: followUp.crmId } : undefined,
			recoveredExpiredLease: lease.state === 'expired',
		};
	} catch (error) {
		held.stop();
		if (error instanceof CrmPermanentError) {
			await store.releaseLease(opportunity.opportunityId, options.holder);
			return { kind: 'failed', ...base, error: error.message, crmMessage: error.crmMessage, status: error.status, crmErrorType: error.crmErrorType };
		}
		// A deferred request was not carried out (429 or a slot not taken): what was created before
		// it is found by the next attempt's search.
		if (!mayHaveWritten || error instanceof CrmDeferredError) await store.releaseLease(opportunity.opportunityId, options.holder).catch(() => undefined);
		throw error;
	} finally {
		held.stop();
	}
}

/**
 * Renews the push lease every third of its time while the push works (a slow CRM, a wait for a
 * rate-limit slot), so it never lapses under a live push and no other delivery takes over and
 * creates again. A renewal refused means the lease was taken over: `lost()` turns true.
 */
export function keepLease(store: SyncStorePort, opportunityId: string, holder: string, ttlMs: number): { lost(): boolean; stop(): void } {
	let lost = false;
	let renewing = false;
	const timer = setInterval(() => {
		if (renewing || lost) return;
		renewing = true;
		store
			.renewLease(opportunityId, holder, ttlMs)
			.then((ok) => {
				if (!ok) {
					lost = true;
					clearInterval(timer);
				}
			})
			// A failed renewal (Redis blip) is tried again next tick; the lease still has 2/3 left.
			.catch(() => undefined)
			.finally(() => {
				renewing = false;
			});
	}, Math.max(100, Math.floor(ttlMs / 3)));
	timer.unref?.();
	return { lost: () => lost, stop: () => clearInterval(timer) };
}

/**
 * What makes two opportunities one person's for the CRM: its find-or-create of the lead looks up the
 * phone, then the email, so opportunities sharing either (or the store's profile) push one after
 * another, never racing to create the same CRM lead twice.
 */
export function personKeys(loaded: { opportunity: SyncOpportunity; lead: SyncLead } | null): string[] {
	if (!loaded) return [];
	const { opportunity, lead } = loaded;
	const phone = (lead.phone ?? '').replace(/\D/g, '');
	return [
		...(phone ? [`phone:${phone}`] : []),
		...(lead.email ? [`email:${lead.email.trim().toLowerCase()}`] : []),
		...(typeof opportunity.leadId === 'string' && opportunity.leadId ? [`profile:${opportunity.leadId}`] : []),
	];
}
