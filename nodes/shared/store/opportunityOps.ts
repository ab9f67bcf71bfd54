import type { FiltrationProcess } from '../lead';
import type { Actor, AuditEntry, CrmState, Lease, PromotionState, StoredOpportunity } from './types';

/**
 * What the pipeline does to an opportunity after dedupe — routing, stage changes, sales person,
 * promotion to the sync queue, the CRM push lease — as pure plans: current document in, the next
 * document and its audit entry out. Both adapters apply a plan with a compare-and-set on the
 * document they read (Redis: one Lua step; MongoDB: findOneAndReplace on a revision), retrying on
 * a lost race, so the rules live here once.
 */

export interface Plan<R> {
	result: R;
	/** Absent: nothing to write. */
	next?: StoredOpportunity;
	audit?: AuditEntry;
}

export const isPushed = (doc: StoredOpportunity): boolean => doc.isPushed === true || (doc.crm as CrmState | undefined)?.pushState === 'pushed';

// A batch plans every opportunity with one Date, and toISOString costs ~1 µs (twice per plan):
// the last Date's text is kept, checked against its time in case a caller changed the Date.
let lastDate: Date | undefined;
let lastTime = NaN;
let lastIso = '';
export function isoOf(now: Date): string {
	const time = now.getTime();
	if (now !== lastDate || time !== lastTime) {
		lastDate = now;
		lastTime = time;
		lastIso = now.toISOString();
	}
	return lastIso;
}

function change(doc: StoredOpportunity, fields: Record<string, unknown>, now: Date): StoredOpportunity {
	return { ...doc, ...fields, updatedAt: isoOf(now) };
}

function entry(actor: Actor, action: AuditEntry['action'], now: Date, from?: unknown, to?: unknown): AuditEntry {
	const e: AuditEntry = { at: isoOf(now), by: actor.by, traceId: actor.traceId, action };
	if (from !== undefined) e.from = from;
	if (to !== undefined) e.to = to;
	return e;
}

export type TransitionResult =
	| { ok: true; changed: boolean; opportunity: StoredOpportunity }
	| { ok: false; reason: 'missing' | 'conflict' | 'pushed'; opportunity: StoredOpportunity | null };

export interface TransitionInput extends Actor {
	/** Compare-and-set: only if the stage is this one now. */
	from?: string;
	to: string;
	/** Pushed opportunities are immutable unless the caller (CRM Sync) says otherwise. */
	allowPushed?: boolean;
}

export function planTransition(doc: StoredOpportunity, input: TransitionInput, now: Date): Plan<TransitionResult> {
	if (isPushed(doc) && !input.allowPushed) return { result: { ok: false, reason: 'pushed', opportunity: doc } };
	// Already there (a redelivery of the same transition): success, nothing written.
	if (doc.stage === input.to) return { result: { ok: true, changed: false, opportunity: doc } };
	if (input.from !== undefined && doc.stage !== input.from) return { result: { ok: false, reason: 'conflict', opportunity: doc } };
	const next = change(doc, { stage: input.to }, now);
	return { result: { ok: true, changed: true, opportunity: next }, next, audit: entry(input, 'transitionStage', now, doc.stage, input.to) };
}

export interface FiltrationInput extends Actor {
	process: FiltrationProcess;
	stage: string;
}

/** The first routing wins: a redelivered lead keeps the process (and stage) it got. */
export function planFiltration(doc: StoredOpportunity, input: FiltrationInput, now: Date): Plan<{ changed: boolean; opportunity: StoredOpportunity }> {
	if (doc.filtrationProcess) return { result: { changed: false, opportunity: doc } };
	const next = change(doc, { filtrationProcess: input.process, stage: input.stage }, now);
	return {
		result: { changed: true, opportunity: next },
		next,
		audit: entry(input, 'setFiltration', now, { stage: doc.stage }, { filtrationProcess: input.process, stage: input.stage }),
	};
}

export interface AssignInput extends Actor {
	salesPerson: string;
	allowPushed?: boolean;
}

export type AssignResult = { ok: true; changed: boolean; opportunity: StoredOpportunity } | { ok: false; reason: 'pushed'; opportunity: StoredOpportunity };

export function planAssign(doc: StoredOpportunity, input: AssignInput, now: Date): Plan<AssignResult> {
	if (doc.salesPerson === input.salesPerson) return { result: { ok: true, changed: false, opportunity: doc } };
	if (isPushed(doc) && !input.allowPushed) return { result: { ok: false, reason: 'pushed', opportunity: doc } };
	const next = change(doc, { salesPerson: input.salesPerson }, now);
	return { result: { ok: true, changed: true, opportunity: next }, next, audit: entry(input, 'assignSalesPerson', now, doc.salesPerson, input.salesPerson) };
}

/**
 * acquired: the caller does the side effect. leased: someone else is doing it now (retry later).
 * expired: a previous attempt lapsed mid-way — it may have happened (look it up before creating).
 * pushed / done: it already happened.
 */
export type PushLeaseState = 'acquired' | 'leased' | 'expired' | 'pushed';
export type PromotionState_ = 'acquired' | 'leased' | 'expired' | 'done';

function leaseState(lease: Lease | undefined, owner: string, nowMs: number): 'acquired' | 'leased' | 'expired' {
	if (!lease) return 'acquired';
	if (lease.until > nowMs) return lease.owner === owner ? 'acquired' : 'leased';
	return 'expired';
}

export interface PromoteInput extends Actor {
	/** Stage the promotion sets (QUALIFIED, UNKNOWN_QUALIFIED, UPCOMING_QUALIFIED). */
	stage: string;
	/** The message doing the promotion (its traceId): its own redelivery takes the lease back. */
	owner: string;
	leaseMs: number;
}

/**
 * Promotion happens once: the first call sets the stage and promotedAt and takes a lease on
 * sending the sync message; promotionSent() closes it. A redelivery after the message was sent gets
 * 'done'; one after a crash between the two (lease lapsed) gets 'expired' and sends again, so a
 * crash can double the message (CRM Sync is idempotent) but never lose it.
 */
export function planPromote(doc: StoredOpportunity, input: PromoteInput, now: Date): Plan<{ state: PromotionState_; opportunity: StoredOpportunity }> {
	const current = doc.promotion as PromotionState | undefined;
	if (current?.state === 'sent') return { result: { state: 'done', opportunity: doc } };
	const state = leaseState(current?.lease, input.owner, now.getTime());
	if (state === 'leased') return { result: { state, opportunity: doc } };
	const promotion: PromotionState = { state: 'sending', lease: { owner: input.owner, until: now.getTime() + input.leaseMs } };
	const first = !current;
	const fields: Record<string, unknown> = first ? { promotion, stage: input.stage, promotedAt: isoOf(now) } : { promotion };
	const next = change(doc, fields, now);
	return { result: { state, opportunity: next }, next, audit: first ? entry(input, 'promote', now, doc.stage, input.stage) : undefined };
}

export function planPromotionSent(doc: StoredOpportunity, input: Actor & { entryId?: string }, now: Date): Plan<{ changed: boolean; opportunity: StoredOpportunity }> {
	const current = doc.promotion as PromotionState | undefined;
	if (current?.state === 'sent') return { result: { changed: false, opportunity: doc } };
	const promotion: PromotionState = { state: 'sent', sentAt: isoOf(now), ...(input.entryId ? { entryId: input.entryId } : {}) };
	const next = change(doc, { promotion }, now);
	return { result: { changed: true, opportunity: next }, next, audit: entry(input, 'promotionSent', now, undefined, input.entryId) };
}

export function planPushLease(doc: StoredOpportunity, input: Actor & { owner: string; ttlMs: number }, now: Date): Plan<{ state: PushLeaseState; opportunity: StoredOpportunity }> {
	if (isPushed(doc)) return { result: { state: 'pushed', opportunity: doc } };
	const crm = (doc.crm as CrmState | undefined) ?? {};
	const state = leaseState(crm.pushState === 'pushing' ? crm.lease : undefined, input.owner, now.getTime());
	if (state === 'leased') return { result: { state, opportunity: doc } };
	const next = change(doc, { crm: { ...crm, pushState: 'pushing', lease: { owner: input.owner, until: now.getTime() + input.ttlMs } } }, now);
	return { result: { state, opportunity: next }, next, audit: entry(input, 'pushLease', now, undefined, { owner: input.owner, state }) };
}

export interface PushRecord {
	system: string;
	/** The CRM's lead id (crmLeadId / LeadSquared ProspectID). */
	leadId?: string;
	/** The CRM's opportunity id. */
	opportunityId?: string;
	[field: string]: unknown;
}

/** Someone else holds the push lease now: our lease lapsed and was taken over. */
function leaseTakenOver(doc: StoredOpportunity, owner: string | undefined): boolean {
	const crm = doc.crm as CrmState | undefined;
	return owner !== undefined && crm?.pushState === 'pushing' && crm.lease !== undefined && crm.lease.owner !== owner;
}

/**
 * Extends a push lease its owner still holds (compare-token): a push waiting on a slow CRM keeps
 * its opportunity, so no other delivery takes over and creates again. No audit entry: renewals
 * are frequent and change nothing but the expiry.
 */
export function planRenewPush(doc: StoredOpportunity, input: { owner: string; ttlMs: number }, now: Date): Plan<boolean> {
	const crm = doc.crm as CrmState | undefined;
	if (isPushed(doc) || crm?.pushState !== 'pushing' || crm.lease?.owner !== input.owner) return { result: false };
	return { result: true, next: change(doc, { crm: { ...crm, lease: { owner: input.owner, until: now.getTime() + input.ttlMs } } }, now) };
}

/**
 * Records the push; the first record wins (a late completion after a takeover changes nothing).
 * With `owner` it is fenced: a holder whose lease was taken over records nothing (`lost`), the
 * execution that took over finds what it created and completes.
 */
export function planCompletePush(doc: StoredOpportunity, input: Actor & { crm: PushRecord; owner?: string }, now: Date): Plan<{ changed: boolean; opportunity: StoredOpportunity; lost?: boolean }> {
	if (isPushed(doc)) return { result: { changed: false, opportunity: doc } };
	if (leaseTakenOver(doc, input.owner)) return { result: { changed: false, opportunity: doc, lost: true } };
	const crm: CrmState = { ...input.crm, pushState: 'pushed', pushedAt: isoOf(now) };
	const next = change(doc, { crm, isPushed: true }, now);
	return { result: { changed: true, opportunity: next }, next, audit: entry(input, 'pushCompleted', now, undefined, { system: crm.system, leadId: crm.leadId, opportunityId: crm.opportunityId }) };
}

/** Gives the lease back (the attempt created nothing); only its owner can. */
export function planReleasePush(doc: StoredOpportunity, input: Actor & { owner: string }, now: Date): Plan<boolean> {
	const crm = doc.crm as CrmState | undefined;
	if (crm?.pushState !== 'pushing' || crm.lease?.owner !== input.owner) return { result: false };
	const rest = { ...crm };
	delete rest.pushState;
	delete rest.lease;
	const next = change(doc, { crm: rest }, now);
	return { result: true, next, audit: entry(input, 'pushLeaseReleased', now, input.owner) };
}
