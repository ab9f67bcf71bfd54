import type { FiltrationProcess, LeadChannel } from '../lead';
import type { OpportunityStore } from './opportunityStore';
import type { StoredOpportunity, StoredProfile } from './types';

export type MatchKind = 'phone' | 'email' | 'nameDestination';

/** Dedupe keys in priority order: phone > email > name + destination. Absent ones are skipped. */
export type DedupeKeys = Partial<Record<MatchKind, string>>;

export interface CheckInput {
	traceId: string;
	/** Keys that match across workflows and instances sharing the namespace. */
	namespace: string;
	keys: DedupeKeys;
	windowSeconds: number;
	lead: { channel: LeadChannel; name?: string; phone?: string; waId?: string; email?: string; destination?: string };
}

export type Verdict =
	| { duplicate: false; traceId: string; opportunityId: string; leadId: string; isNewProfile: boolean }
	| {
			duplicate: true;
			traceId: string;
			duplicateOf: { traceId: string; opportunityId: string };
			matchedOn: MatchKind;
			reason: string;
	  };

/**
 * The lead store every node shares (Redis by default, MongoDB as the alternative). Every write is
 * idempotent on the lead's traceId: a redelivered lead gets the verdict it got the first time.
 */
export interface LeadStore {
	/**
	 * Duplicate check and, for an original, profile find-or-create by phone and a new opportunity,
	 * atomically: two consumers racing on one phone produce exactly one original.
	 */
	checkAndRecord(input: CheckInput): Promise<Verdict>;
	/** checkAndRecord for a batch, in input order (Redis: one pipelined round trip). */
	checkAndRecordMany(inputs: CheckInput[]): Promise<Verdict[]>;
	/**
	 * The verdicts checkAndRecordMany would give, recording nothing (editor test runs, "Check Only,
	 * Don't Record"). Leads earlier in the batch count, as if they had been recorded; an original's
	 * leadId is its existing profile's, or '' when it would get a new one.
	 */
	checkOnlyMany(inputs: CheckInput[]): Promise<Verdict[]>;
	getOpportunity(namespace: string, opportunityId: string): Promise<StoredOpportunity | null>;
	updateOpportunity(namespace: string, opportunityId: string, fields: Partial<StoredOpportunity>): Promise<void>;
	/** Adds to the profile's active opportunities; UNKNOWN routing is not an active opportunity. */
	addActiveOpportunity(namespace: string, leadId: string, opportunityId: string, process: FiltrationProcess): Promise<boolean>;
	/** addActiveOpportunity for a batch (Redis: one script run per 500), results in input order. */
	addActiveOpportunities(namespace: string, entries: ActiveOpportunity[]): Promise<boolean[]>;
	activeOpportunities(namespace: string, leadId: string): Promise<string[]>;
	/** The person behind an opportunity (CRM Sync needs their phone, email and name). */
	getProfile(namespace: string, leadId: string): Promise<StoredProfile | null>;
	/** Routing, stage machine, sales person, promotion and CRM push lease: see opportunityStore.ts. */
	setFiltration: OpportunityStore['setFiltration'];
	setFiltrationMany: OpportunityStore['setFiltrationMany'];
	transitionStage: OpportunityStore['transitionStage'];
	assignSalesPerson: OpportunityStore['assignSalesPerson'];
	promoteOnce: OpportunityStore['promoteOnce'];
	promotionSent: OpportunityStore['promotionSent'];
	acquirePushLease: OpportunityStore['acquirePushLease'];
	completePush: OpportunityStore['completePush'];
	releasePushLease: OpportunityStore['releasePushLease'];
	renewPushLease: OpportunityStore['renewPushLease'];
	auditTrail: OpportunityStore['auditTrail'];
	close(): Promise<void>;
}

export interface ActiveOpportunity {
	leadId: string;
	opportunityId: string;
	process: FiltrationProcess;
}

/** Records that the CRM has the opportunity (idempotent: the first push time is kept). */
export async function markPushed(
	store: LeadStore,
	namespace: string,
	opportunityId: string,
	crm: { system: string; id: string },
): Promise<StoredOpportunity> {
	const current = await store.getOpportunity(namespace, opportunityId);
	if (!current) throw new Error(`No opportunity ${opportunityId} in ${namespace}`);
	if (current.crm?.pushedAt && current.crm.id === crm.id) return current;
	await store.updateOpportunity(namespace, opportunityId, { crm: { ...crm, pushState: 'pushed', pushedAt: new Date().toISOString() }, isPushed: true });
	return (await store.getOpportunity(namespace, opportunityId))!;
}

const squash = (s: string) => s.trim().toLowerCase().replace(/\s+/g, ' ');

/** The dedupe keys of a lead, for the kinds switched on. */
export function dedupeKeysOf(
	lead: { phone?: string; email?: string; name?: string; destination?: string },
	enabled: Record<MatchKind, boolean>,
): DedupeKeys {
	const keys: DedupeKeys = {};
	if (enabled.phone && lead.phone) keys.phone = lead.phone.trim();
	if (enabled.email && lead.email) keys.email = squash(lead.email);
	if (enabled.nameDestination && lead.name?.trim() && lead.destination?.trim()) {
		keys.nameDestination = `${squash(lead.name)}|${squash(lead.destination)}`;
	}
	return keys;
}

export const MATCH_ORDER: MatchKind[] = ['phone', 'email', 'nameDestination'];

export function duplicateReason(kind: MatchKind, traceId: string): string {
	const what = { phone: 'the same phone', email: 'the same email', nameDestination: 'the same name and destination' }[kind];
	return `${what} as lead ${traceId} within the dedupe window`;
}

/** What an adapter reads for one lead in a check-only pass. */
export interface CheckOnlyLookup {
	/** The verdict this traceId already got, if any. */
	earlier?: Verdict;
	/** Holder of each of the input's keys in MATCH_ORDER (only kinds present), null when free. */
	holders: Array<{ traceId: string; opportunityId: string } | null>;
	/** The existing profile of the lead's phone. */
	profileId?: string;
}

/** Verdicts from what is stored plus the leads before each one in the batch (pure). */
export function checkOnlyVerdicts(inputs: CheckInput[], lookups: CheckOnlyLookup[]): Verdict[] {
	const seen = new Map<string, { traceId: string; opportunityId: string }>();
	const seenProfiles = new Map<string, string>();
	return inputs.map((input, i) => {
		const { earlier, holders, profileId } = lookups[i];
		if (earlier) return earlier;
		const kinds = MATCH_ORDER.filter((kind) => input.keys[kind]);
		const ids = kinds.map((kind) => `${input.namespace}\u0000${kind}\u0000${input.keys[kind]}`);
		for (let k = 0; k < kinds.length; k++) {
			const holder = holders[k] ?? seen.get(ids[k]);
			if (holder && holder.traceId !== input.traceId) {
				return { duplicate: true, traceId: input.traceId, duplicateOf: holder, matchedOn: kinds[k], reason: duplicateReason(kinds[k], holder.traceId) };
			}
		}
		const ref = { traceId: input.traceId, opportunityId: `opp_${input.traceId}` };
		ids.forEach((id) => seen.set(id, ref));
		const phoneKey = input.lead.phone ? `${input.namespace}\u0000${input.lead.phone}` : '';
		const leadId = profileId ?? (phoneKey ? seenProfiles.get(phoneKey) : undefined) ?? '';
		if (phoneKey && !leadId) seenProfiles.set(phoneKey, '');
		return { duplicate: false, traceId: input.traceId, opportunityId: ref.opportunityId, leadId, isNewProfile: !profileId };
	});
}
