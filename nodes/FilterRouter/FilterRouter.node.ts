import { type IDataObject, type IExecuteFunctions, type INodeExecutionData, type INodeParameters, type INodeType, type INodeTypeDescription, NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';

import { metricsScope, metricsWanted, recordMetrics } from '../common/metricsOptions';
import { openPipeline, type OpenPipeline } from '../common/pipelineSettings';
import { redisCredentialTestMethods } from '../common/redisCredentialTest';
import { type FiltrationProcess, channelOfItem, leadOfItem, compileRoutingTable, route, RoutingRuleError, type RoutingRuleInput, type RoutingTable, initialStage } from '../shared/lead';
import { COUNTER } from '../shared/metrics';
import type { ActiveOpportunity } from '../shared/store';
import { addEntries } from '../shared/queue';
import { buildSyncMessage, handOffOnce, handoffRequestOf } from '../shared/crm';
import { filterRouterProperties, routerOutputs } from './description';
import { failedItem } from '../common/failedItem';

interface RuleParameter {
	process: string;
	combine?: 'all' | 'any';
	conditions?: { condition?: Array<{ field: 'channel' | 'destination' | 'value'; value?: unknown; operator: 'equals' | 'inList' | 'regex' | 'exists'; expected?: string }> };
}

const BY = 'Filter Router';

function ruleInputs(rules: RuleParameter[]): RoutingRuleInput[] {
	return rules.map((r) => ({ process: r.process, combine: r.combine, conditions: (r.conditions?.condition ?? []).map((c) => ({ field: c.field, operation: c.operator, expected: c.expected })) }));
}

type Routed = { itemIndex: number; json: IDataObject; process: FiltrationProcess; stage: string };

/** Routes saved per store round trip: bounded so a huge input does not build one giant request. */
const SAVE_CHUNK = 1000;

/**
 * Saves each route to its opportunity (the first routing wins: a redelivered lead keeps the route it
 * got, applied to `r`) and records active opportunities. A batch's saves go to the store together
 * (Redis: one MGET and one pipelined round of compare-and-sets), each still atomic on its own
 * opportunity, so batching changes no outcome. Returns the items whose route could not be saved.
 */
async function saveRoutes(pipeline: OpenPipeline, routed: Routed[]): Promise<Map<number, Error>> {
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
async function handOffNoFilter(pipeline: OpenPipeline, routed: Routed[], persisted: boolean): Promise<Map<number, string>> {
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

export class FilterRouter implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Filter Router',
		name: 'filterRouter',
		icon: { light: 'file:filterRouter.svg', dark: 'file:filterRouter.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{ ($parameter["rules"].rule || []).length + " rules" }}',
		description: 'Give each new opportunity its filtration process (NO_FILTER, PSV, WEST, UNKNOWN, UPCOMING) from a routing table, with one output per process',
		defaults: { name: 'Filter Router' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: `={{(${routerOutputs})($parameter)}}`,
		credentials: [
			// A database credential, named as the project names it (the rule only knows n8n's own Redis).
			// eslint-disable-next-line n8n-nodes-base/node-class-description-credentials-name-unsuffixed
			{ name: 'leadPipelineRedis', required: true, testedBy: 'leadPipelineRedisConnectionTest' },
		],
		properties: filterRouterProperties,
	};

	methods = { credentialTest: redisCredentialTestMethods };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const outputs = routerOutputs(this.getNode().parameters as INodeParameters).map((o) => o.displayName);
		const result: INodeExecutionData[][] = outputs.map(() => []);
		const rules = this.getNodeParameter('rules.rule', 0, []) as RuleParameter[];
		let table: RoutingTable;
		try {
			table = compileRoutingTable(ruleInputs(rules), this.getNodeParameter('destinationMap', 0, '') as string, this.getNodeParameter('defaultProcess', 0, 'UNKNOWN') as string);
		} catch (error) {
			throw new NodeOperationError(this.getNode(), (error as Error).message, { description: error instanceof RoutingRuleError ? 'Fix the routing table in the node parameters.' : undefined });
		}
		const hasValueConditions = rules.some((r) => (r.conditions?.condition ?? []).some((c) => c.field === 'value'));
		// Editor test runs route and show the result, but never change the store or the sync queue.
		const testRun = this.getMode() === 'manual';
		const persist = !testRun && (this.getNodeParameter('persist', 0, true) as boolean);
		const sendNoFilter = !testRun && (this.getNodeParameter('sendNoFilter', 0, false) as boolean);
		const options = this.getNodeParameter('options', 0, {}) as IDataObject;
		const count = metricsWanted(this.getMode(), options);
		const pipeline: OpenPipeline | undefined = persist || sendNoFilter || count ? await openPipeline(this) : undefined;

		const routed: Routed[] = [];
		const fail = (itemIndex: number, message: string, description?: string) => {
			const error = new NodeOperationError(this.getNode(), message, { itemIndex, description });
			if (!this.continueOnFail()) throw error;
			// With "Continue (using error output)" n8n moves the item to the error output; with
			// "Continue (regular output)" it stays here: on the default process's output (a person
			// reviews UNKNOWN), never on NO_FILTER, which leads straight to the CRM.
			const fallback = outputs.indexOf(table.fallback);
			result[fallback >= 0 ? fallback : outputs.length - 1].push(failedItem(this, items[itemIndex].json, error.message, { item: itemIndex }));
		};
		try {
			const planned: Array<Routed | { itemIndex: number; failure: string; description: string }> = [];
			for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
				const json = items[itemIndex].json;
				const lead = leadOfItem(json);
				const values = hasValueConditions
					? (this.getNodeParameter('rules.rule', itemIndex, []) as RuleParameter[]).map((r) => (r.conditions?.condition ?? []).map((c) => c.value))
					: undefined;
				const match = route(table, { channel: channelOfItem(json), destination: lead.destination, values });
				const process = match.process;
				const out: IDataObject = { ...json, filtrationProcess: process, stage: initialStage(process), routedBy: match.routedBy };
				if (testRun) out.testRun = true;
				const opportunityId = json.opportunityId as string | undefined;
				if (pipeline && persist && (!opportunityId || !lead.traceId)) {
					planned.push({ itemIndex, failure: `Item ${itemIndex} has no ${opportunityId ? 'traceId' : 'opportunityId'} to save the route to`, description: 'Put Dedupe Leads before Filter Router (it creates the opportunity), or turn off Save to Lead Store.' });
					continue;
				}
				planned.push({ itemIndex, json: out, process, stage: initialStage(process) });
			}
			const saves = pipeline && persist ? await saveRoutes(pipeline, planned.filter((p): p is Routed => 'json' in p)) : new Map<number, Error>();
			// In item order, as if saved one by one: the first failure is the one reported.
			for (const p of planned) {
				if ('failure' in p) fail(p.itemIndex, p.failure, p.description);
				else if (saves.get(p.itemIndex)) fail(p.itemIndex, saves.get(p.itemIndex)!.message, 'The opportunity is not in the lead store of the Pipeline Settings namespace: check the namespace, or that Dedupe Leads ran first.');
				else routed.push(p);
			}

			if (pipeline && sendNoFilter) {
				const notQueued = await handOffNoFilter(pipeline, routed.filter((r) => r.process === 'NO_FILTER'), persist);
				for (const [itemIndex, message] of notQueued) {
					routed.splice(routed.findIndex((r) => r.itemIndex === itemIndex), 1);
					fail(itemIndex, message, 'The stream consumer retries the batch (or replay the dead letter); the opportunity is queued once.');
				}
			}
			if (pipeline && count) {
				const events = routed.map((r) => ({ traceId: String(leadOfItem(r.json).traceId ?? r.json.id ?? ''), counter: COUNTER.routed, labels: { process: r.process } }));
				await recordMetrics(this.logger, pipeline.redis, metricsScope(this.getMode(), options, pipeline.settings), events);
			}
		} finally {
			await pipeline?.close();
		}
		for (const r of routed) {
			const index = outputs.indexOf(r.process);
			if (index < 0) throw new NodeOperationError(this.getNode(), `Output ${r.process} is hidden but a lead was routed to it`, { description: 'Turn off Hide Unused Outputs.' });
			result[index].push({ json: r.json, pairedItem: { item: r.itemIndex } });
		}
		return result;
	}
}
