import { type IDataObject, type IExecuteFunctions, type INodeExecutionData, type INodeParameters, type INodeType, type INodeTypeDescription, NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';

import { metricsScope, metricsWanted, recordMetrics } from '../common/metricsOptions';
import { openPipeline, type OpenPipeline } from '../common/pipelineSettings';
import { redisCredentialTestMethods } from '../common/redisCredentialTest';
import { channelOfItem, leadOfItem, compileRoutingTable, route, RoutingRuleError, type RoutingRuleInput, type RoutingTable, initialStage } from '../shared/lead';
import { COUNTER } from '../shared/metrics';
import { filterRouterProperties, routerOutputs } from './description';
import { handOffNoFilter, type Routed, saveRoutes } from './routeStore';
import { failedItem } from '../common/failedItem';

interface RuleParameter {
	process: string;
	combine?: 'all' | 'any';
	conditions?: { condition?: Array<{ field: 'channel' | 'destination' | 'value'; value?: unknown; operator: 'equals' | 'inList' | 'regex' | 'exists'; expected?: string }> };
}


function ruleInputs(rules: RuleParameter[]): RoutingRuleInput[] {
	return rules.map((r) => ({ process: r.process, combine: r.combine, conditions: (r.conditions?.condition ?? []).map((c) => ({ field: c.field, operation: c.operator, expected: c.expected })) }));
}

function routingTableOf(ctx: IExecuteFunctions, rules: RuleParameter[]): RoutingTable {
	try {
		return compileRoutingTable(ruleInputs(rules), ctx.getNodeParameter('destinationMap', 0, '') as string, ctx.getNodeParameter('defaultProcess', 0, 'UNKNOWN') as string);
	} catch (error) {
		throw new NodeOperationError(ctx.getNode(), (error as Error).message, { description: error instanceof RoutingRuleError ? 'Fix the routing table in the node parameters.' : undefined });
	}
}

interface RunFlags {
	testRun: boolean;
	persist: boolean;
	sendNoFilter: boolean;
	count: boolean;
	options: IDataObject;
}

function runFlagsOf(ctx: IExecuteFunctions): RunFlags {
	// Editor test runs route and show the result, but never change the store or the sync queue.
	const testRun = ctx.getMode() === 'manual';
	const persist = !testRun && (ctx.getNodeParameter('persist', 0, true) as boolean);
	const sendNoFilter = !testRun && (ctx.getNodeParameter('sendNoFilter', 0, false) as boolean);
	const options = ctx.getNodeParameter('options', 0, {}) as IDataObject;
	return { testRun, persist, sendNoFilter, count: metricsWanted(ctx.getMode(), options), options };
}

type Fail = (itemIndex: number, message: string, description?: string) => void;

/** How an item fails: the node fails, or (continue on fail) the item goes out with its error. */
function failInto(ctx: IExecuteFunctions, items: INodeExecutionData[], outputs: string[], table: RoutingTable, result: INodeExecutionData[][]): Fail {
	return (itemIndex, message, description) => {
		const error = new NodeOperationError(ctx.getNode(), message, { itemIndex, description });
		if (!ctx.continueOnFail()) throw error;
		// With "Continue (using error output)" n8n moves the item to the error output; with
		// "Continue (regular output)" it stays here: on the default process's output (a person
		// reviews UNKNOWN), never on NO_FILTER, which leads straight to the CRM.
		const fallback = outputs.indexOf(table.fallback);
		result[fallback >= 0 ? fallback : outputs.length - 1].push(failedItem(ctx, items[itemIndex].json, error.message, { item: itemIndex }));
	};
}

type Planned = Routed | { itemIndex: number; failure: string; description: string };

/** Each item's route, or why its route cannot be saved (no opportunity or trace while saving). */
function planRoutes(ctx: IExecuteFunctions, items: INodeExecutionData[], table: RoutingTable, rules: RuleParameter[], flags: RunFlags, saving: boolean): Planned[] {
	const hasValueConditions = rules.some((r) => (r.conditions?.condition ?? []).some((c) => c.field === 'value'));
	const planned: Planned[] = [];
	for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
		const json = items[itemIndex].json;
		const lead = leadOfItem(json);
		const values = hasValueConditions ? (ctx.getNodeParameter('rules.rule', itemIndex, []) as RuleParameter[]).map((r) => (r.conditions?.condition ?? []).map((c) => c.value)) : undefined;
		const match = route(table, { channel: channelOfItem(json), destination: lead.destination, values });
		const process = match.process;
		const out: IDataObject = { ...json, filtrationProcess: process, stage: initialStage(process), routedBy: match.routedBy };
		if (flags.testRun) out.testRun = true;
		const opportunityId = json.opportunityId as string | undefined;
		if (saving && (!opportunityId || !lead.traceId)) {
			planned.push({ itemIndex, failure: `Item ${itemIndex} has no ${opportunityId ? 'traceId' : 'opportunityId'} to save the route to`, description: 'Put Dedupe Leads before Filter Router (it creates the opportunity), or turn off Save to Lead Store.' });
			continue;
		}
		planned.push({ itemIndex, json: out, process, stage: initialStage(process) });
	}
	return planned;
}

/** Saves the routes, queues NO_FILTER, counts: the items that made it, in item order (the others failed through `fail`). */
async function settleRoutes(ctx: IExecuteFunctions, pipeline: OpenPipeline | undefined, planned: Planned[], flags: RunFlags, fail: Fail): Promise<Routed[]> {
	const routed: Routed[] = [];
	const saves = pipeline && flags.persist ? await saveRoutes(pipeline, planned.filter((p): p is Routed => 'json' in p)) : new Map<number, Error>();
	// In item order, as if saved one by one: the first failure is the one reported.
	for (const p of planned) {
		if ('failure' in p) fail(p.itemIndex, p.failure, p.description);
		else if (saves.get(p.itemIndex)) fail(p.itemIndex, saves.get(p.itemIndex)!.message, 'The opportunity is not in the lead store of the Pipeline Settings namespace: check the namespace, or that Dedupe Leads ran first.');
		else routed.push(p);
	}
	if (pipeline && flags.sendNoFilter) {
		const notQueued = await handOffNoFilter(pipeline, routed.filter((r) => r.process === 'NO_FILTER'), flags.persist);
		for (const [itemIndex, message] of notQueued) {
			routed.splice(routed.findIndex((r) => r.itemIndex === itemIndex), 1);
			fail(itemIndex, message, 'The stream consumer retries the batch (or replay the dead letter); the opportunity is queued once.');
		}
	}
	if (pipeline && flags.count) {
		const events = routed.map((r) => ({ traceId: String(leadOfItem(r.json).traceId ?? r.json.id ?? ''), counter: COUNTER.routed, labels: { process: r.process } }));
		await recordMetrics(ctx.logger, pipeline.redis, metricsScope(ctx.getMode(), flags.options, pipeline.settings), events);
	}
	return routed;
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
		const table = routingTableOf(this, rules);
		const flags = runFlagsOf(this);
		const pipeline: OpenPipeline | undefined = flags.persist || flags.sendNoFilter || flags.count ? await openPipeline(this) : undefined;
		const fail = failInto(this, items, outputs, table, result);
		let routed: Routed[];
		try {
			const planned = planRoutes(this, items, table, rules, flags, Boolean(pipeline && flags.persist));
			routed = await settleRoutes(this, pipeline, planned, flags, fail);
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
