import type { IDataObject } from 'n8n-workflow';

import type { OpenPipeline } from '../common/pipelineSettings';
import { type FiltrationProcess, channelOfItem, leadOfItem } from '../shared/lead';
import type { ActiveOpportunity } from '../shared/store';
import { addEntries } from '../shared/queue';
import { buildSyncMessage, handOffOnce, handoffRequestOf } from '../shared/crm';

/** What the Filter Router saves and hands over: the routes to the lead store, NO_FILTER to the sync queue. */

const BY = 'Filter Router';

export type Routed = { itemIndex: number; json: IDataObject; process: FiltrationProcess; stage: string };

/** Routes saved per store round trip: bounded so a huge input does not build one giant request. */
const SAVE_CHUNK = 1000;

/**
 * Saves each route to its opportunity (the first routing wins: a redelivered lead keeps the route it
 * got, applied to `r`) and records active opportunities. A batch's saves go to the store together
 * (Redis: one MGET and one pipelined round of compare-and-sets), each still atomic on its own
 * opportunity, so batching changes no outcome. Returns the items whose route could not be saved.
 */
export async function saveRoutes(pipeline: OpenPipeline, routed: Routed[]): Promise<Map<number, Error>> {
	const { store, settings } = pipeline;
	const failed = new Map<number, Error>();
	for (let start = 0; start < routed.length; start += SAVE_CHUNK) {
		const chunk = routed.slice(start, start + SAVE_CHUNK);
		const saved = await store.setFiltrationMany(settings.namespace, chunk.map((r) => ({
			opportunityId: r.json.opportunityId as string,
			input: { by: BY, traceId: leadOfItem(r.json).traceId!, process: r.process, stage: r.stage },
		})));
		const active: ActiveOpportunity[] = [];
		chunk.forEach((r, k) => {
			const outcome = saved[k];
			if (outcome instanceof Error) {
				failed.set(r.itemIndex, outcome);
				return;
			}
			r.process = outcome.opportunity.filtrationProcess ?? r.process;
			r.stage = outcome.opportunity.stage;
			Object.assign(r.json, { filtrationProcess: r.process, stage: r.stage });
			if (r.json.leadId) active.push({ leadId: String(r.json.leadId), opportunityId: r.json.opportunityId as string, process: r.process });
		});
		// A failed add of an active opportunity fails the node, as a failed store always did.
		await store.addActiveOpportunities(settings.namespace, active);
	}
	return failed;
}

/**
 * NO_FILTER opportunities to the sync queue: once each when saved in the store. Returns why each
 * item that could not be queued failed; those must not go down NO_FILTER as if queued.
 */
export async function handOffNoFilter(pipeline: OpenPipeline, routed: Routed[], persisted: boolean): Promise<Map<number, string>> {
	const { settings, store, redis } = pipeline;
	const failed = new Map<number, string>();
	const failHandoff = (r: Routed, message: string) => failed.set(r.itemIndex, `Could not add opportunity ${String(r.json.opportunityId)} to the sync queue: ${message}`);
	const messages = routed.map((r) =>
		buildSyncMessage({
			opportunityId: String(r.json.opportunityId ?? r.json.traceId ?? ''),
			traceId: String(leadOfItem(r.json).traceId ?? ''),
			action: 'CREATE',
			source: channelOfItem(r.json) ?? 'UNKNOWN',
		}),
	);
	if (!persisted) {
		// Without the store there is no record of an earlier send: every run adds the message.
		const written = await addEntries(redis, messages.map((message) => ({ stream: settings.syncQueue, message })));
		written.forEach((w, k) => (w.ok ? (routed[k].json.syncEntryId = w.id) : failHandoff(routed[k], w.error.message)));
		return failed;
	}
	const requests = routed.map((r, k) => handoffRequestOf(messages[k], { namespace: settings.namespace, stage: r.stage, by: BY }));
	const outcomes = await handOffOnce(store, redis, settings.syncQueue, requests);
	outcomes.forEach((o, k) => {
		if (o.status === 'sent') routed[k].json.syncEntryId = o.entryId;
		else if (o.status === 'alreadySent') routed[k].json.syncQueued = 'already';
		else if (o.status === 'busy') failHandoff(routed[k], 'another lead message is adding this opportunity to the sync queue right now; retry later');
		else failHandoff(routed[k], o.error.message);
	});
	return failed;
}
