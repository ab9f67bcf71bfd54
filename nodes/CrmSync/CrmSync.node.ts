import { randomUUID } from 'node:crypto';

import { type IDataObject, type IExecuteFunctions, type INodeExecutionData, type INodeType, type INodeTypeDescription, NodeConnectionTypes } from 'n8n-workflow';

import { metricsScope, recordMetrics } from '../common/metricsOptions';
import { openPipeline, type OpenPipeline } from '../common/pipelineSettings';
import { redisCredentialTestMethods } from '../common/redisCredentialTest';
import { leadStorePort, personKeys, readSyncMessage, releaseDueRetries, syncOpportunity, type SyncStorePort, type SyncTarget } from '../shared/crm';
import { COUNTER, type DecisionEvent } from '../shared/metrics';
import { runInLanes } from '../shared/http';
import { syncWaitingOutLease } from './leaseWait';
import { crmError } from './nodeErrors';
import { buildProvider, type BuiltProvider } from './provider';
import { crmSyncProperties } from './description';
import { fallbackStream, inRunWaitMs, planRetries, retryQueueOf, type ItemResult, type RetryQueue } from './retries';

/**
 * A batch's pushes run this many at once: each waits on 3–4 CRM round trips, so one at a time left
 * the CRM stage at ≈ 100 leads/s with 2 parallel executions (bench/end-to-end-latency.mjs). The
 * rate limit still caps the calls.
 */
const DEFAULT_CONCURRENT_PUSHES = 10;

type Count = (outcome: 'synced' | 'skipped' | 'failed', traceId: unknown) => void;
type PushedItem = INodeExecutionData & { output: 0 | 1 | 2 };

/** One sync run: the batch, the node's options and what is open for it. */
interface SyncRun {
	items: INodeExecutionData[];
	options: IDataObject;
	maxWaitMs: number;
	dryRun: boolean;
	pipeline: OpenPipeline;
	queue?: RetryQueue;
	count: Count;
}

/** The Release Due Retries operation: due messages back on the stream (an editor run only reports). */
async function releaseDue(ctx: IExecuteFunctions, pipeline: OpenPipeline): Promise<INodeExecutionData[][]> {
	try {
		const stream = fallbackStream(ctx);
		// An editor run only reports: releasing would start production work.
		const released = ctx.getMode() === 'manual' ? 0 : await releaseDueRetries(pipeline.redis, stream, Date.now());
		return [[{ json: { released, stream, testRun: ctx.getMode() === 'manual' }, pairedItem: { item: 0 } }], [], []];
	} finally {
		await pipeline.close();
	}
}

/** The Sync operation: every item pushed (one person's opportunities one after another), then sorted into the outputs. */
async function syncItems(ctx: IExecuteFunctions, run: SyncRun): Promise<INodeExecutionData[][]> {
	const { items, options, pipeline } = run;
	const built = await buildProvider(ctx, pipeline.redis, options, run.maxWaitMs);
	const store = leadStorePort(pipeline.store, pipeline.settings.namespace, `n8n:crmSync:${ctx.getWorkflow().id ?? 'workflow'}`);
	const targets = items.map((item) => readSyncMessage(item.json));
	if (run.queue) await run.queue.releaseFor(items);
	const pushOne = itemPusher(ctx, run, built, store, targets);
	const concurrency = Math.max(1, Math.floor(Number(options.concurrentPushes ?? DEFAULT_CONCURRENT_PUSHES)));
	const keys = concurrency === 1 ? items.map(() => []) : await Promise.all(targets.map(async (t) => (t.opportunityId ? personKeys(await store.load(t.opportunityId)) : [])));
	const results: ItemResult[] = await runInLanes(keys, concurrency, pushOne);
	return await sortResults(ctx, run, results, targets, built.secrets);
}

/** Pushes one item, waiting out another execution's lease within the in-run bound; the output it goes to. */
function itemPusher(ctx: IExecuteFunctions, run: SyncRun, built: BuiltProvider, store: SyncStorePort, targets: SyncTarget[]): (itemIndex: number) => Promise<PushedItem> {
	const { options, count } = run;
	return async (itemIndex) => {
		const json = run.items[itemIndex].json;
		const pairedItem = { item: itemIndex };
		const target = targets[itemIndex];
		if (!target.opportunityId) {
			count('failed', target.traceId ?? json.id);
			return { output: 2, json: { error: 'The item has no opportunity id: expected a sync message { _id, traceID } (as the consumer trigger delivers it, under message) or { opportunityId }', field: '_id', input: json }, pairedItem };
		}
		const attempt = async () =>
			await syncOpportunity(store, built.provider, { ...target, opportunityId: target.opportunityId! }, {
				dryRun: run.dryRun,
				holder: `${ctx.getExecutionId() ?? 'run'}:${itemIndex}:${randomUUID()}`,
				leaseTtlMs: Math.round(Number(options.leaseSeconds ?? 120) * 1000),
				defaultOwner: built.defaultOwner,
				followUp: { enabled: options.followUp !== false, afterHours: Number(options.followUpAfterHours ?? 24) },
			});
		// Waiting for another execution's push is an in-run wait too: never beyond the bound.
		const result = await syncWaitingOutLease(ctx, attempt, Number(options.waitForPushSeconds ?? 150) * 1000, run.maxWaitMs);
		if ('error' in result) throw result.error;
		const { outcome } = result;
		const out: INodeExecutionData = { json: { ...outcome, ...(json.id ? { streamEntryId: json.id } : {}) }, pairedItem };
		// "Already pushed" is a redelivery (or a concurrent run) of a push counted as synced.
		const repeat = outcome.kind === 'skipped' && outcome.reason.startsWith('already pushed');
		if (outcome.kind !== 'testRun' && !repeat) count(outcome.kind, outcome.traceId ?? target.traceId ?? json.id ?? target.opportunityId);
		if (outcome.kind === 'synced') return { output: 0, ...out };
		if (outcome.kind === 'testRun') return { output: 0, ...out, json: { ...out.json, testRun: true } };
		return { output: outcome.kind === 'skipped' ? 1 : 2, ...out };
	};
}

/**
 * Synced / Skipped / Failed. Without a retry queue the first failure (in item order) fails the
 * execution, after the pushes running beside it ended, and the consumer redelivers the batch; with
 * one, unfinished items are parked or, past Max Retries, fail through the Failed output.
 */
async function sortResults(ctx: IExecuteFunctions, run: SyncRun, results: ItemResult[], targets: SyncTarget[], secrets: string[]): Promise<INodeExecutionData[][]> {
	if (!run.queue) {
		results.forEach((r, i) => {
			if ('error' in r) throw crmError(ctx, r.error, i, secrets);
		});
	}
	const plan = planRetries(results, run.items, targets, run.options, fallbackStream(ctx), Date.now(), secrets);
	if (run.queue) await run.queue.park(plan.park);
	for (const f of plan.failed) run.count('failed', f.json.traceId);
	const outputs: INodeExecutionData[][] = [[], [], []];
	for (const r of results) {
		if (!('value' in r)) continue;
		const { output, ...item } = r.value;
		outputs[output].push(item);
	}
	outputs[2].push(...plan.failed);
	return outputs;
}

export class CrmSync implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'CRM Sync',
		name: 'crmSync',
		icon: { light: 'file:crmSync.svg', dark: 'file:crmSync.dark.svg' },
		group: ['output'],
		version: 1,
		subtitle: '={{ $parameter["provider"] === "inhouse" ? "In-house CRM" : "LeadSquared" }}',
		description: 'Push opportunities from the sync queue to LeadSquared or an in-house CRM, once each, with the first follow-up',
		defaults: { name: 'CRM Sync' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main, NodeConnectionTypes.Main],
		outputNames: ['Synced', 'Skipped', 'Failed'],
		credentials: [
			// A database credential, named as the project names it (the rule only knows n8n's own Redis).
			// eslint-disable-next-line n8n-nodes-base/node-class-description-credentials-name-unsuffixed
			{ name: 'leadPipelineRedis', required: true, testedBy: 'leadPipelineRedisConnectionTest' },
			// Release Due Retries only moves messages in Redis: no CRM credential.
			{ name: 'leadPipelineLeadSquaredApi', required: true, displayOptions: { show: { provider: ['leadsquared'], operation: ['sync'] } } },
			{ name: 'leadPipelineCrmApi', required: true, displayOptions: { show: { provider: ['inhouse'], operation: ['sync'] } } },
		],
		properties: crmSyncProperties,
	};

	methods = { credentialTest: { ...redisCredentialTestMethods } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const options = this.getNodeParameter('options', 0, {}) as IDataObject;
		const maxWaitMs = inRunWaitMs(this, options);
		const dryRun = this.getMode() === 'manual' && options.writeInTestRuns !== true;
		const pipeline = await openPipeline(this, { namespace: options.namespace as string | undefined });
		if (this.getNodeParameter('operation', 0, 'sync') === 'releaseDueRetries') return await releaseDue(this, pipeline);
		// An editor run never puts messages on the production sync queue (even when it writes to the CRM).
		const queue = this.getMode() === 'manual' ? undefined : retryQueueOf(this, options, pipeline.redis);
		const events: DecisionEvent[] = [];
		const count: Count = (outcome, traceId) => {
			if (typeof traceId === 'string' && traceId) events.push({ traceId, counter: COUNTER.crm, labels: { outcome } });
		};
		try {
			return await syncItems(this, { items: this.getInputData(), options, maxWaitMs, dryRun, pipeline, queue, count });
		} finally {
			// Also when an item failed the batch: the pushes before it happened.
			await recordMetrics(this.logger, pipeline.redis, metricsScope(this.getMode(), options, pipeline.settings), events);
			await pipeline.close();
		}
	}
}
