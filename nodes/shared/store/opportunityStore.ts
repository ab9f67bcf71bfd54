import type { StoredOpportunity } from './contract';
import {
	planAssign,
	planCompletePush,
	planFiltration,
	planPromote,
	planPromotionSent,
	planPushLease,
	planReleasePush,
	planTransition,
	type Actor,
	type AssignInput,
	type AssignResult,
	type AuditEntry,
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

	async completePush(namespace: string, opportunityId: string, crm: PushRecord, actor: Actor): Promise<{ changed: boolean; opportunity: StoredOpportunity }> {
		return await this.apply(namespace, opportunityId, (doc, now) => planCompletePush(doc, { ...actor, crm }, now));
	}

	async releasePushLease(namespace: string, opportunityId: string, owner: string, actor: Actor = { by: owner, traceId: '' }): Promise<boolean> {
		return await this.apply(namespace, opportunityId, (doc, now) => planReleasePush(doc, { ...actor, owner }, now));
	}
}
