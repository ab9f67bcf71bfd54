import { randomUUID } from 'node:crypto';

import { type IDataObject, type IExecuteFunctions, type INodeExecutionData, type INodeType, type INodeTypeDescription, NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';

import { metricsScope, recordMetrics } from '../common/metricsOptions';
import { openPipeline } from '../common/pipelineSettings';
import { redisCredentialTestMethods } from '../common/redisCredentialTest';
import { CrmDeferredError, CrmTransientError, PushInProgressError, redactSecrets, leadStorePort, CrmConfigurationError, personKeys, syncOpportunity, type SyncOutcome, releaseDueRetries, readSyncMessage } from '../shared/crm';
import { COUNTER, type DecisionEvent } from '../shared/metrics';
import { runInLanes } from '../shared/http';
import { buildProvider } from './provider';
import { crmSyncProperties } from './description';
import { fallbackStream, inRunWaitMs, planRetries, retryQueueOf, type ItemResult } from './retries';

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
		const items = this.getInputData();
		const options = this.getNodeParameter('options', 0, {}) as IDataObject;
		const maxWaitMs = inRunWaitMs(this, options);
		const dryRun = this.getMode() === 'manual' && options.writeInTestRuns !== true;
		const pipeline = await openPipeline(this, { namespace: options.namespace as string | undefined });
		if (this.getNodeParameter('operation', 0, 'sync') === 'releaseDueRetries') {
			try {
				const stream = fallbackStream(this);
				// An editor run only reports: releasing would start production work.
				const released = this.getMode() === 'manual' ? 0 : await releaseDueRetries(pipeline.redis, stream, Date.now());
				return [[{ json: { released, stream, testRun: this.getMode() === 'manual' }, pairedItem: { item: 0 } }], [], []];
			} finally {
				await pipeline.close();
			}
		}
		// An editor run never puts messages on the production sync queue (even when it writes to the CRM).
		const queue = this.getMode() === 'manual' ? undefined : retryQueueOf(this, options, pipeline.redis);
		const synced: INodeExecutionData[] = [];
		const skipped: INodeExecutionData[] = [];
		const failed: INodeExecutionData[] = [];
		let secrets: string[] = [];
		const events: DecisionEvent[] = [];
		const count = (outcome: 'synced' | 'skipped' | 'failed', traceId: unknown) => {
			if (typeof traceId === 'string' && traceId) events.push({ traceId, counter: COUNTER.crm, labels: { outcome } });
		};
		try {
			const built = await buildProvider(this, pipeline.redis, options, maxWaitMs);
			secrets = built.secrets;
			const store = leadStorePort(pipeline.store, pipeline.settings.namespace, `n8n:crmSync:${this.getWorkflow().id ?? 'workflow'}`);
			const targets = items.map((item) => readSyncMessage(item.json));
			if (queue) await queue.releaseFor(items);
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
				// Waiting for another execution's push is an in-run wait too: never beyond the bound.
				const result = await syncWaitingOutLease(this, attempt, Number(options.waitForPushSeconds ?? 150) * 1000, maxWaitMs);
				if ('error' in result) throw result.error;
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
			const results: ItemResult[] = await runInLanes(keys, concurrency, pushOne);
			if (!queue) {
				// No retry queue: the first failure (in item order) fails the execution, after the pushes
				// running beside it ended, and the consumer redelivers the batch.
				results.forEach((r, i) => {
					if ('error' in r) throw crmError(this, r.error, i, secrets);
				});
			}
			const plan = planRetries(results, items, targets, options, fallbackStream(this), Date.now(), secrets);
			if (queue) await queue.park(plan.park);
			for (const f of plan.failed) count('failed', f.json.traceId);
			for (const r of results) {
				if (!('value' in r)) continue;
				const { output, ...item } = r.value;
				[synced, skipped, failed][output].push(item);
			}
			failed.push(...plan.failed);
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
 * `waitForPushMs`: it polls each second, so a push that finishes gives "already pushed" at once, and
 * a lease that lapses (n8n killed mid-push) is taken over, looking the CRM up before creating.
 * Failing the batch instead redelivers it every claim timeout and could dead-letter the whole batch
 * before a dead execution's lease lapses. A lease that outlasts the wait fails at once. The time
 * spent waiting never exceeds `maxInRunMs` (the in-run bound): a live push renews its lease, so
 * past the bound the item is handed back (retry queue) or fails for the consumer to retry.
 */
async function syncWaitingOutLease(ctx: IExecuteFunctions, attempt: () => Promise<SyncOutcome>, waitForPushMs: number, maxInRunMs: number): Promise<{ outcome: SyncOutcome } | { error: unknown }> {
	const started = Date.now();
	const deadline = started + waitForPushMs;
	const stopWaitingAt = started + Math.min(waitForPushMs, maxInRunMs);
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
		const now = Date.now();
		if (!(lapsesAt <= deadline) || now >= stopWaitingAt) return result;
		await pause(Math.min(1_000, Math.max(0, lapsesAt - now + 100), stopWaitingAt - now), signal);
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
export function crmError(ctx: IExecuteFunctions, error: unknown, itemIndex: number, secrets: string[]): NodeOperationError {
	const node = ctx.getNode();
	const clean = (text: string) => redactSecrets(text, secrets);
	if (error instanceof PushInProgressError) {
		return new NodeOperationError(node, error.message, {
			itemIndex,
			description: `Another delivery of this sync message holds the push lease${error.leaseExpiresAt ? ` until ${error.leaseExpiresAt}` : ''}. The stream consumer retries it later; nothing to do unless this repeats.`,
		});
	}
	if (error instanceof CrmDeferredError) {
		return new NodeOperationError(node, clean(error.message), {
			itemIndex,
			description: `The CRM asks to wait until ${new Date(error.retryAt).toISOString()}, longer than "Longest Wait in an Execution". The execution fails so the stream consumer redelivers the message; turn on the Retry Queue option so such waits are held in Redis instead and never count toward Max Retries.`,
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
