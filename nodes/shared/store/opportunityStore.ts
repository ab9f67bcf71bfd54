import type { Actor, AuditEntry, StoredOpportunity } from './types';
import {
	planAssign,
	planCompletePush,
	planFiltration,
	planPromote,
	planPromotionSent,
	planPushLease,
	planReleasePush,
	planRenewPush,
	planTransition,
	type AssignInput,
	type AssignResult,
	type FiltrationInput,
	type Plan,
	type PromoteInput,
	type PromotionState_,
	type PushLeaseState,
	type PushRecord,
	type TransitionInput,
	type TransitionResult,
} from './opportunityOps';

export class OpportunityNotFoundError extends Error {
	constructor(namespace: string, opportunityId: string) {
		super(`No opportunity ${opportunityId} in ${namespace}`);
		this.name = 'OpportunityNotFoundError';
	}
}

/** One compare-and-set of a batch: the document read at `version`, its next state and audit entry. */
export interface VersionedWrite {
	opportunityId: string;
	version: unknown;
	next: StoredOpportunity;
	audit?: AuditEntry;
}

/** Lost the compare-and-set this many times in a row: something is hammering one opportunity. */
const MAX_ATTEMPTS = 50;

/**
 * The opportunity operations on top of two adapter primitives: read a document with a version, and
 * write it only if that version is still current (plus its audit entry, in the same step).
 */
export abstract class OpportunityStore {
	protected abstract readVersioned(namespace: string, opportunityId: string): Promise<{ doc: StoredOpportunity; version: unknown } | null>;

	/** Atomic: the document and its audit entry, only if the stored version is still `version`. */
	protected abstract writeIfUnchanged(namespace: string, opportunityId: string, version: unknown, next: StoredOpportunity, audit?: AuditEntry): Promise<boolean>;

	/** readVersioned for many documents, in order; an adapter with a batch read overrides it. */
	protected async readVersionedMany(namespace: string, opportunityIds: string[]): Promise<Array<{ doc: StoredOpportunity; version: unknown } | null>> {
		return await Promise.all(opportunityIds.map((id) => this.readVersioned(namespace, id)));
	}

	/** writeIfUnchanged for many documents, in order, each on its own; an adapter with a batch write overrides it. */
	protected async writeIfUnchangedMany(namespace: string, writes: VersionedWrite[]): Promise<boolean[]> {
		return await Promise.all(writes.map((w) => this.writeIfUnchanged(namespace, w.opportunityId, w.version, w.next, w.audit)));
	}

	/** Audit entries of an opportunity, oldest first. */
	abstract auditTrail(namespace: string, opportunityId: string): Promise<AuditEntry[]>;

	protected async apply<R>(namespace: string, opportunityId: string, plan: (doc: StoredOpportunity, now: Date) => Plan<R>): Promise<R> {
		for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
			const current = await this.readVersioned(namespace, opportunityId);
			if (!current) throw new OpportunityNotFoundError(namespace, opportunityId);
			const planned = plan(current.doc, new Date());
			if (!planned.next) return planned.result;
			if (await this.writeIfUnchanged(namespace, opportunityId, current.version, planned.next, planned.audit)) return planned.result;
		}
		throw new Error(`Opportunity ${opportunityId} in ${namespace} kept changing under ${MAX_ATTEMPTS} attempts to update it`);
	}

	/**
	 * apply() for a batch: each round reads every unsettled document at once, plans each, and writes
	 * the changed ones at once, each its own compare-and-set; the ones that lost a race (another
	 * writer, or the same opportunity earlier in this batch) go round again. Results in input order;
	 * a missing opportunity or one that kept changing is an Error in its place, the rest go on.
	 */
	protected async applyMany<R>(namespace: string, opportunityIds: string[], plan: (doc: StoredOpportunity, now: Date, index: number) => Plan<R>): Promise<Array<R | Error>> {
		const results = new Array<R | Error>(opportunityIds.length);
		const lostRaces = new Array<number>(opportunityIds.length).fill(0);
		let pending = opportunityIds.map((_, i) => i);
		while (pending.length > 0) {
			// One write per opportunity per round: a repeat waits for the next round (not a lost race)
			// and plans on the document as written.
			const claimed = new Set<string>();
			const now: number[] = [];
			const later: number[] = [];
			for (const i of pending) {
				if (claimed.has(opportunityIds[i])) later.push(i);
				else {
					claimed.add(opportunityIds[i]);
					now.push(i);
				}
			}
			const current = await this.readVersionedMany(namespace, now.map((i) => opportunityIds[i]));
			const writes: VersionedWrite[] = [];
			const planned: Array<{ index: number; result: R }> = [];
			const date = new Date();
			now.forEach((i, k) => {
				const found = current[k];
				if (!found) {
					results[i] = new OpportunityNotFoundError(namespace, opportunityIds[i]);
					return;
				}
				const p = plan(found.doc, date, i);
				if (!p.next) {
					results[i] = p.result;
					return;
				}
				writes.push({ opportunityId: opportunityIds[i], version: found.version, next: p.next, audit: p.audit });
				planned.push({ index: i, result: p.result });
			});
			const written = await this.writeIfUnchangedMany(namespace, writes);
			const retry: number[] = [];
			planned.forEach((p, k) => {
				if (written[k]) results[p.index] = p.result;
				else if (++lostRaces[p.index] >= MAX_ATTEMPTS) results[p.index] = new Error(`Opportunity ${opportunityIds[p.index]} in ${namespace} kept changing under ${MAX_ATTEMPTS} attempts to update it`);
				else retry.push(p.index);
			});
			pending = [...retry, ...later].sort((a, b) => a - b);
		}
		return results;
	}

	/** Stage change, validated by the caller, applied as a compare-and-set on `from`. */
	async transitionStage(namespace: string, opportunityId: string, input: TransitionInput): Promise<TransitionResult> {
		try {
			return await this.apply(namespace, opportunityId, (doc, now) => planTransition(doc, input, now));
		} catch (error) {
			if (error instanceof OpportunityNotFoundError) return { ok: false, reason: 'missing', opportunity: null };
			throw error;
		}
	}

	/** Filtration process + initial stage; the first routing wins (idempotent). */
	async setFiltration(namespace: string, opportunityId: string, input: FiltrationInput): Promise<{ changed: boolean; opportunity: StoredOpportunity }> {
		return await this.apply(namespace, opportunityId, (doc, now) => planFiltration(doc, input, now));
	}

	/** setFiltration for a batch (the Filter Router's saves): results in input order, an Error in place of each that failed. */
	async setFiltrationMany(namespace: string, routes: Array<{ opportunityId: string; input: FiltrationInput }>): Promise<Array<{ changed: boolean; opportunity: StoredOpportunity } | Error>> {
		return await this.applyMany(namespace, routes.map((r) => r.opportunityId), (doc, now, i) => planFiltration(doc, routes[i].input, now));
	}

	async assignSalesPerson(namespace: string, opportunityId: string, input: AssignInput): Promise<AssignResult> {
		return await this.apply(namespace, opportunityId, (doc, now) => planAssign(doc, input, now));
	}

	/**
	 * 'acquired' (first time) or 'expired' (an earlier attempt lapsed before confirming): send the
	 * sync message, then promotionSent(). 'leased': another attempt is sending right now. 'done': sent.
	 */
	async promoteOnce(namespace: string, opportunityId: string, input: PromoteInput): Promise<{ state: PromotionState_; opportunity: StoredOpportunity }> {
		return await this.apply(namespace, opportunityId, (doc, now) => planPromote(doc, input, now));
	}

	async promotionSent(namespace: string, opportunityId: string, input: Actor & { entryId?: string }): Promise<{ changed: boolean }> {
		return await this.apply(namespace, opportunityId, (doc, now) => planPromotionSent(doc, input, now));
	}

	/** Lease on pushing to the CRM (issue 11): see PushLeaseState. */
	async acquirePushLease(namespace: string, opportunityId: string, ttlMs: number, owner: string, actor: Actor = { by: owner, traceId: '' }): Promise<{ state: PushLeaseState; opportunity: StoredOpportunity }> {
		return await this.apply(namespace, opportunityId, (doc, now) => planPushLease(doc, { ...actor, owner, ttlMs }, now));
	}

	/** `owner` fences it: only while that owner holds the lease (see planCompletePush). */
	async completePush(namespace: string, opportunityId: string, crm: PushRecord, actor: Actor, owner?: string): Promise<{ changed: boolean; opportunity: StoredOpportunity; lost?: boolean }> {
		return await this.apply(namespace, opportunityId, (doc, now) => planCompletePush(doc, { ...actor, crm, owner }, now));
	}

	/** Extends the push lease while `owner` still holds it; false when it was lost or ended. */
	async renewPushLease(namespace: string, opportunityId: string, owner: string, ttlMs: number): Promise<boolean> {
		return await this.apply(namespace, opportunityId, (doc, now) => planRenewPush(doc, { owner, ttlMs }, now));
	}

	async releasePushLease(namespace: string, opportunityId: string, owner: string, actor: Actor = { by: owner, traceId: '' }): Promise<boolean> {
		return await this.apply(namespace, opportunityId, (doc, now) => planReleasePush(doc, { ...actor, owner }, now));
	}
}
