import { CrmDeferredError, CrmPermanentError, PushInProgressError } from './errors';
import { keepLease } from './pushLease';
import type { SyncTarget } from './syncMessage';
import type { LeaseState, PushRecord, SyncOpportunity, SyncOptions, SyncOutcome, SyncStorePort } from './syncTypes';
import type { CrmLeadRef, CrmOpportunityRef, CrmProvider, PushInput, SyncLead } from './types';

/**
 * One opportunity to the CRM, the way the existing sync consumer does it: skip UPCOMING
 * destinations, skip what is already pushed, take the push lease, find the CRM lead by phone then
 * email, create the lead if none, create the opportunity, write the CRM ids back and release the
 * lease by completing the push, then the first follow-up of a FRESH_LEAD. Pure: the store and the
 * CRM come in as ports.
 */

export const UPCOMING_PROCESS = 'UPCOMING';
export const UPCOMING_FRESH_LEAD = 'UPCOMING_FRESH_LEAD';
const UPCOMING_PROMOTED = ['UPCOMING_QUALIFIED'];
export const FRESH_LEAD = 'FRESH_LEAD';

type Owner = { crmUserId: string; name?: string };
type Base = { opportunityId: string; traceId: string };

/** The sales person on the opportunity: a CRM user id, or { crmUserId | id | userId, name }. */
export function salesPersonOf(value: unknown): Owner | undefined {
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

/** Opportunities that are not pushed at all: already in the CRM, an UPCOMING destination, no way to reach the person. */
async function notToPush(store: SyncStorePort, opportunity: SyncOpportunity, lead: SyncLead, base: Base, dryRun: boolean): Promise<SyncOutcome | undefined> {
	if (alreadyPushed(opportunity)) {
		return { kind: 'skipped', ...base, reason: 'already pushed to the CRM', crmLeadId: opportunity.crm?.leadId ?? opportunity.crmLeadId ?? opportunity.crm?.id, crmOpportunityId: opportunity.crm?.opportunityId ?? opportunity.crmOpportunityId };
	}
	if (opportunity.filtrationProcess === UPCOMING_PROCESS && !UPCOMING_PROMOTED.includes(String(opportunity.stage))) {
		if (!dryRun && opportunity.stage !== UPCOMING_FRESH_LEAD) await store.markUpcoming(opportunity.opportunityId);
		return { kind: 'skipped', ...base, reason: `UPCOMING destination: kept as ${UPCOMING_FRESH_LEAD} until promoted` };
	}
	if (!lead.phone && !lead.email) {
		return { kind: 'failed', ...base, error: 'The lead has no phone and no email: the CRM lead can be neither found nor created' };
	}
	return undefined;
}

/** What the push writes: the input the provider gets, the owner, and whether a first follow-up is due. */
interface PushPlan {
	input: PushInput;
	owner?: Owner;
	stage: string;
	wantsFollowUp: boolean;
}

function planPush(opportunity: SyncOpportunity, lead: SyncLead, traceId: string, target: SyncTarget, options: SyncOptions): PushPlan {
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
	return { input, owner, stage, wantsFollowUp };
}

/** An editor test run: looks the lead up and tells what a push would create, writing nothing. */
async function dryRunOutcome(crm: CrmProvider, lead: SyncLead, base: Base, plan: PushPlan): Promise<SyncOutcome> {
	const existing = await crm.findLead(lead);
	return {
		kind: 'testRun',
		...base,
		crmPlatform: crm.platform,
		existingCrmLead: existing ?? undefined,
		wouldCreateLead: !existing,
		wouldCreateOpportunity: true,
		wouldCreateFollowUp: plan.wantsFollowUp,
		owner: plan.owner,
	};
}

export async function syncOpportunity(store: SyncStorePort, crm: CrmProvider, target: SyncTarget & { opportunityId: string }, options: SyncOptions): Promise<SyncOutcome> {
	const loaded = await store.load(target.opportunityId);
	if (!loaded) {
		return { kind: 'failed', opportunityId: target.opportunityId, traceId: target.traceId, error: `No opportunity ${target.opportunityId} in the lead store (check the namespace in Pipeline Settings)` };
	}
	const { opportunity, lead } = loaded;
	const traceId = opportunity.traceId ?? target.traceId;
	const base = { opportunityId: opportunity.opportunityId, traceId };
	const skip = await notToPush(store, opportunity, lead, base, options.dryRun);
	if (skip) return skip;
	const plan = planPush(opportunity, lead, traceId, target, options);
	if (options.dryRun) return await dryRunOutcome(crm, lead, base, plan);

	const lease = await store.acquireLease(opportunity.opportunityId, options.holder, options.leaseTtlMs);
	if (lease.state === 'pushed') return { kind: 'skipped', ...base, reason: 'already pushed to the CRM (by a concurrent execution)' };
	if (lease.state === 'leased') throw new PushInProgressError(opportunity.opportunityId, lease.expiresAt);
	return await pushUnderLease(store, crm, { lead, base, plan, leaseState: lease.state }, options);
}

interface LeasedPush {
	lead: SyncLead;
	base: Base;
	plan: PushPlan;
	/** 'expired': an earlier push died mid-way and this one took its lease over. */
	leaseState: LeaseState;
}

/** The CRM writes while the lease is held (and kept alive), then the fenced completion in the store. */
async function pushUnderLease(store: SyncStorePort, crm: CrmProvider, push: LeasedPush, options: SyncOptions): Promise<SyncOutcome> {
	const { opportunityId } = push.base;
	// Once a create request may have reached the CRM, the lease is left to expire on a transient
	// failure instead of released: the CRM may still be writing, and whoever takes the expired
	// lease searches the CRM first.
	const progress = { mayHaveWritten: false };
	const held = keepLease(store, opportunityId, options.holder, options.leaseTtlMs);
	try {
		const created = await createInCrm(crm, push, progress, held.lost);
		const record = await pushRecordOf(crm, push.plan, created.crmOpportunity, options);
		held.stop();
		// Fenced: a holder whose lease was taken over records nothing; the taker finds what this
		// push created and completes it.
		const completed = await store.completePush(opportunityId, options.holder, record);
		if (completed?.lost) throw new PushInProgressError(opportunityId);
		return {
			kind: 'synced',
			...push.base,
			crmPlatform: crm.platform,
			crmLeadId: record.crmLeadId,
			crmOpportunityId: record.crmOpportunityId,
			leadCreated: created.leadCreated,
			matchedOn: created.crmLead.matchedOn,
			opportunityExisted: created.crmOpportunity.existing,
			owner: push.plan.owner,
			followUp: record.firstFollowUp ? { dueAt: record.firstFollowUp.dueAt, crmId: record.firstFollowUp.crmId } : undefined,
			recoveredExpiredLease: push.leaseState === 'expired',
		};
	} catch (error) {
		held.stop();
		return await failedPush(store, push.base, error, progress.mayHaveWritten, options.holder);
	} finally {
		held.stop();
	}
}

/** Finds or creates the CRM lead, then finds (after a takeover) or creates the opportunity. */
async function createInCrm(crm: CrmProvider, push: LeasedPush, progress: { mayHaveWritten: boolean }, leaseLost: () => boolean): Promise<{ crmLead: CrmLeadRef; leadCreated: boolean; crmOpportunity: CrmOpportunityRef }> {
	const { input } = push.plan;
	let crmLead = await crm.findLead(push.lead);
	const leadCreated = !crmLead;
	if (!crmLead) {
		progress.mayHaveWritten = true;
		crmLead = await crm.createLead(input);
	}
	progress.mayHaveWritten = true;
	// A takeover: the execution that died may have created the opportunity already.
	const earlier = push.leaseState === 'expired' && crm.findOpportunity ? await crm.findOpportunity(input, crmLead) : null;
	if (!earlier && leaseLost()) throw new PushInProgressError(push.base.opportunityId);
	// A create whose reply is lost (CrmOutcomeUnknownError) is not searched for at once (the CRM
	// may still be writing): the lease is left to lapse and the takeover above searches first.
	const crmOpportunity = earlier ?? (await crm.createOpportunity(input, crmLead));
	return { crmLead, leadCreated, crmOpportunity };
}

/** The first follow-up (when due) and the record written back on the opportunity. */
async function pushRecordOf(crm: CrmProvider, plan: PushPlan, crmOpportunity: CrmOpportunityRef, options: SyncOptions): Promise<PushRecord> {
	const now = options.now ?? (() => new Date());
	let followUp: PushRecord['firstFollowUp'];
	if (plan.wantsFollowUp) {
		const dueAt = new Date(now().getTime() + options.followUp.afterHours * 3_600_000).toISOString();
		const created = await crm.createFollowUp(plan.input, crmOpportunity, dueAt);
		followUp = { dueAt, ...(created?.id ? { crmId: created.id } : {}), createdAt: now().toISOString() };
	}
	return {
		crmPlatform: crm.platform,
		crmLeadId: crmOpportunity.leadId,
		...(crm.platform === 'LEADSQUARED' ? { leadSquadId: crmOpportunity.leadId } : {}),
		crmOpportunityId: crmOpportunity.id,
		isPushed: true,
		crmStageMeta: { stage: plan.stage, platform: crm.platform, at: now().toISOString() },
		...(plan.owner ? { owner: plan.owner } : {}),
		...(followUp ? { firstFollowUp: followUp } : {}),
	};
}

/** A refusal fails the item (lease released); anything else is thrown, releasing the lease only when nothing may have been written. */
async function failedPush(store: SyncStorePort, base: Base, error: unknown, mayHaveWritten: boolean, holder: string): Promise<SyncOutcome> {
	if (error instanceof CrmPermanentError) {
		await store.releaseLease(base.opportunityId, holder);
		return { kind: 'failed', ...base, error: error.message, crmMessage: error.crmMessage, status: error.status, crmErrorType: error.crmErrorType };
	}
	// A deferred request was not carried out (429 or a slot not taken): what was created before
	// it is found by the next attempt's search.
	if (!mayHaveWritten || error instanceof CrmDeferredError) await store.releaseLease(base.opportunityId, holder).catch(() => undefined);
	throw error;
}
