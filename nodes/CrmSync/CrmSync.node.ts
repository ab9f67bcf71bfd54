import { randomUUID } from 'node:crypto';

import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeType, INodeTypeDescription } from 'n8n-workflow';
import { NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';

import { metricsScope, recordMetrics } from '../common/metricsOptions';
import { openPipeline } from '../common/pipelineSettings';
import { redisCredentialTestMethods } from '../common/redisCredentialTest';
import { CrmTransientError, PushInProgressError, redactSecrets } from '../shared/crm/errors';
import { leadStorePort } from '../shared/crm/leadStorePort';
import { COUNTER, type DecisionEvent } from '../shared/metrics/counters';
import { CrmConfigurationError } from '../shared/crm/transport';
import { personKeys, syncOpportunity, type SyncOutcome } from '../shared/crm/sync';
import { runInLanes } from '../shared/lanes';
import { buildProvider, syncTargetOf } from './provider';
import { crmSyncProperties } from './description';

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
			{ name: 'leadPipelineLeadSquaredApi', required: true, displayOptions: { show: { provider: ['leadsquared'] } } },
			{ name: 'leadPipelineCrmApi', required: true, displayOptions: { show: { provider: ['inhouse'] } } },
		],
		properties: crmSyncProperties,
	};

	methods = { credentialTest: { ...redisCredentialTestMethods } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const options = this.getNodeParameter('options', 0, {}) as IDataObject;
		const dryRun = this.getMode() === 'manual' && options.writeInTestRuns !== true;
		const pipeline = await openPipeline(this, { namespace: options.namespace as string | undefined });
		const synced: INodeExecutionData[] = [];
		const skipped: INodeExecutionData[] = [];
		const failed: INodeExecutionData[] = [];
		let secrets: string[] = [];
		const events: DecisionEvent[] = [];
		const count = (outcome: 'synced' | 'skipped' | 'failed', traceId: unknown) => {
			if (typeof traceId === 'string' && traceId) events.push({ traceId, counter: COUNTER.crm, labels: { outcome } });
		};
		try {
			const built = await buildProvider(this, pipeline.redis, options);
			secrets = built.secrets;
			const store = leadStorePort(pipeline.store, pipeline.settings.namespace, `n8n:crmSync:${this.getWorkflow().id ?? 'workflow'}`);
			const targets = items.map((item) => syncTargetOf(item.json));
			const pushOne = async (itemIndex: number): Promise<INodeExecutionData & { output: 0 | 1 | 2 }> => {
				const json = items[itemIndex].json;
				const pairedItem = { item: itemIndex };
				const target = targets[itemIndex];
				if (!target.opportunityId) {
					count('failed', target.traceId ?? json.id);
					return { output: 2, json: { error: 'The item has no opportunity id: expected a sync message { _id, traceID } (as the consumer trigger delivers it, under message) or { opportunityId }', field: '_id', input: json }, pairedItem };
				}
				const attempt = async () =>
					await syncOpportunity(store, built.provider, { ...target, opportunityId: target.opportunityId! }, {
						dryRun,
						holder: `${this.getExecutionId() ?? 'run'}:${itemIndex}:${randomUUID()}`,
						leaseTtlMs: Math.round(Number(options.leaseSeconds ?? 120) * 1000),
						defaultOwner: built.defaultOwner,
						followUp: { enabled: options.followUp !== false, afterHours: Number(options.followUpAfterHours ?? 24) },
					});
				const result = await syncWaitingOutLease(this, attempt, Number(options.waitForPushSeconds ?? 150) * 1000);
				if ('error' in result) throw crmError(this, result.error, itemIndex, secrets);
				const { outcome } = result;
				const out = { json: { ...(outcome as unknown as IDataObject), ...(json.id ? { streamEntryId: json.id } : {}) }, pairedItem };
				// "Already pushed" is a redelivery (or a concurrent run) of a push counted as synced.
				const repeat = outcome.kind === 'skipped' && outcome.reason.startsWith('already pushed');
				if (outcome.kind !== 'testRun' && !repeat) count(outcome.kind, outcome.traceId ?? target.traceId ?? json.id ?? target.opportunityId);
				if (outcome.kind === 'synced') return { output: 0, ...out };
				if (outcome.kind === 'testRun') return { output: 0, ...out, json: { ...out.json, testRun: true } };
				return { output: outcome.kind === 'skipped' ? 1 : 2, ...out };
			};
			const concurrency = Math.max(1, Math.floor(Number(options.concurrentPushes ?? DEFAULT_CONCURRENT_PUSHES)));
			const keys = concurrency === 1 ? items.map(() => []) : await Promise.all(targets.map(async (t) => (t.opportunityId ? personKeys(await store.load(t.opportunityId)) : [])));
			const results = await runInLanes(keys, concurrency, pushOne);
			// The first failure (in item order) fails the execution, after the pushes running beside it ended.
			for (const r of results) if ('error' in r) throw r.error;
			for (const r of results) {
				if (!('value' in r)) continue;
				const { output, ...item } = r.value;
				[synced, skipped, failed][output].push(item);
			}
		} finally {
			// Also when an item failed the batch: the pushes before it happened.
			await recordMetrics(this.logger, pipeline.redis, metricsScope(this.getMode(), options, pipeline.settings), events);
			await pipeline.close();
		}
		return [synced, skipped, failed];
	}
}

/**
 * A batch's pushes run this many at once: each waits on 3–4 CRM round trips, so one at a time left
 * the CRM stage at ≈ 100 leads/s with 2 parallel executions (bench/end-to-end-latency.mjs). The
 * rate limit still caps the calls.
 */
const DEFAULT_CONCURRENT_PUSHES = 10;

/**
 * Syncs, waiting while another execution holds the push lease if that lease lapses within
 * `maxWaitMs`: it polls each second, so a push that finishes gives "already pushed" at once, and
 * a lease that lapses (n8n killed mid-push) is taken over, looking the CRM up before creating.
 * Failing the batch instead redelivers it every claim timeout and could dead-letter the whole batch
 * before a dead execution's lease lapses. A lease that outlasts the wait fails at once.
 */
async function syncWaitingOutLease(ctx: IExecuteFunctions, attempt: () => Promise<SyncOutcome>, maxWaitMs: number): Promise<{ outcome: SyncOutcome } | { error: unknown }> {
	const deadline = Date.now() + maxWaitMs;
	const signal = ctx.getExecutionCancelSignal?.();
	for (;;) {
		const result = await attempt().then(
			(outcome) => ({ outcome }),
			(error: unknown) => ({ error }),
		);
		if ('outcome' in result) return result;
		const { error } = result;
		if (!(error instanceof PushInProgressError) || !error.leaseExpiresAt || signal?.aborted) return result;
		const lapsesAt = Date.parse(error.leaseExpiresAt);
		if (!(lapsesAt <= deadline)) return result;
		await pause(Math.min(1_000, Math.max(0, lapsesAt - Date.now() + 100)), signal);
	}
}

async function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
	await new Promise<void>((resolve) => {
		const timer = setTimeout(done, ms);
		function done() {
			clearTimeout(timer);
			signal?.removeEventListener('abort', done);
			resolve();
		}
		signal?.addEventListener('abort', done);
	});
}

/**
 * Transient failures and a push in progress elsewhere fail the execution (continueOnFail or not):
 * the stream consumer then leaves the message pending, redelivers it and finally dead-letters it.
 * Acknowledging it through an error output would lose the opportunity.
 */
function crmError(ctx: IExecuteFunctions, error: unknown, itemIndex: number, secrets: string[]): NodeOperationError {
	const node = ctx.getNode();
	const clean = (text: string) => redactSecrets(text, secrets);
	if (error instanceof PushInProgressError) {
		return new NodeOperationError(node, error.message, {
			itemIndex,
			description: `Another delivery of this sync message holds the push lease${error.leaseExpiresAt ? ` until ${error.leaseExpiresAt}` : ''}. The stream consumer retries it later; nothing to do unless this repeats.`,
		});
	}
	if (error instanceof CrmTransientError) {
		return new NodeOperationError(node, clean(error.message), {
			itemIndex,
			description: 'A temporary CRM failure (network, timeout, 5xx or rate limit). The execution fails so the stream consumer redelivers the message; after Max Retries it goes to the dead-letter stream.',
		});
	}
	if (error instanceof CrmConfigurationError) {
		return new NodeOperationError(node, clean(error.message), {
			itemIndex,
			description: "Check the CRM credential's host / Base URL (a private-network address needs \"Allow Private Network Host\").",
		});
	}
	const message = clean(error instanceof Error ? error.message : String(error));
	return new NodeOperationError(node, message, { itemIndex, description: 'CRM Sync could not finish this item; the stream consumer will retry it.' });
}
