import type { LeadStore, Actor } from '../store';
import { UPCOMING_FRESH_LEAD } from './sync';
import type { PushRecord, SyncOpportunity, SyncStorePort } from './syncTypes';

/**
 * CRM Sync's view of the lead store: the opportunity with its person, the push lease, the push
 * record (under `crm`, written with the audit entry in one compare-and-set by the store), UPCOMING
 * marking through the stage machine.
 */
export function leadStorePort(store: LeadStore, namespace: string, actorName: string): SyncStorePort {
	const actor = (traceId: string): Actor => ({ by: actorName, traceId });
	const traces = new Map<string, string>();
	const traceOf = (opportunityId: string) => traces.get(opportunityId) ?? '';
	return {
		async load(opportunityId) {
			const opportunity = await store.getOpportunity(namespace, opportunityId);
			if (!opportunity) return null;
			traces.set(opportunityId, opportunity.traceId);
			const profile = opportunity.leadId ? await store.getProfile(namespace, opportunity.leadId) : null;
			const lead = { name: profile?.name, phone: profile?.phone, email: profile?.email, waId: profile?.waId };
			// The store types only its own fields; the CRM fields CRM Sync wrote (isPushed, crmLeadId...) come back untyped, read as such.
			return { opportunity: opportunity as unknown as SyncOpportunity, lead };
		},
		async acquireLease(opportunityId, holder, ttlMs) {
			const { state, opportunity } = await store.acquirePushLease(namespace, opportunityId, ttlMs, holder, actor(traceOf(opportunityId)));
			const until = (opportunity.crm as { lease?: { until?: number } } | undefined)?.lease?.until;
			return { state, expiresAt: until ? new Date(until).toISOString() : undefined };
		},
		async completePush(opportunityId, holder, record: PushRecord) {
			const { lost } = await store.completePush(
				namespace,
				opportunityId,
				{ system: record.crmPlatform, leadId: record.crmLeadId, opportunityId: record.crmOpportunityId, ...record },
				actor(traceOf(opportunityId)),
				holder,
			);
			return { lost };
		},
		async renewLease(opportunityId, holder, ttlMs) {
			return await store.renewPushLease(namespace, opportunityId, holder, ttlMs);
		},
		async releaseLease(opportunityId, holder) {
			await store.releasePushLease(namespace, opportunityId, holder, actor(traceOf(opportunityId)));
		},
		async markUpcoming(opportunityId) {
			await store.transitionStage(namespace, opportunityId, { ...actor(traceOf(opportunityId)), to: UPCOMING_FRESH_LEAD });
		},
	};
}
