import type Redis from 'ioredis';
import { type IDataObject, type IExecuteFunctions, type INodeExecutionData, type INodeType, type INodeTypeDescription, NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';

import { metricsScope, recordMetrics, settingsForMetrics, type MetricsScope } from '../common/metricsOptions';
import { REDIS_CREDENTIAL, toRedisCredentialData } from '../common/redisCredential';
import { toWebhookSigning, WEBHOOK_SIGNING_CREDENTIAL, webhookSigningTestMethods, type WebhookSigning } from '../common/webhookSigningCredential';
import { redisCredentialTestMethods } from '../common/redisCredentialTest';
import { displayUrl, parseDelayList, type BackoffSchedule, mapBounded } from '../shared/http';
import { COUNTER, type DecisionEvent } from '../shared/metrics';
import { borrowRedis, type BorrowedRedis } from '../shared/queue';
import { cachedCredentials } from '../common/credentialCache';
import { DEFAULT_INLINE_WAIT_MS, deliver, inlineWaitProblem, isEnvelope, newEnvelope, previewDelivery, type AttemptRecord, type DeliveryEnvelope, type DeliveryOutcome, type DeliverySettings, deadLetterDeliveries, deferDeliveries, deliveredRecords, recordDelivered, releaseDue, DEFAULT_QUEUE_NAMES, type WebhookQueueNames } from '../shared/webhook';
import { webhookDeliverProperties } from './description';

interface Options {
	allowInternal?: boolean;
	concurrency?: number;
	deliverInTestRuns?: boolean;
	dlqStream?: string;
	keyPrefix?: string;
	retryAfterCapSeconds?: number;
	retryStream?: string;
}

type Planned =
	| { itemIndex: number; envelope: DeliveryEnvelope }
	| { itemIndex: number; problem: string };

function queueNames(options: Options): WebhookQueueNames {
	return {
		keyPrefix: options.keyPrefix || DEFAULT_QUEUE_NAMES.keyPrefix,
		retryStream: options.retryStream || DEFAULT_QUEUE_NAMES.retryStream,
		dlqStream: options.dlqStream || DEFAULT_QUEUE_NAMES.dlqStream,
	};
}

/** The delivery an item asks for: a consumed retry/DLQ envelope as is, otherwise from the parameters. */
function planItem(ctx: IExecuteFunctions, item: INodeExecutionData, itemIndex: number): Planned {
	const json = item.json;
	const carried = [json.message, json].find(isEnvelope);
	if (carried) {
		// A dead letter fed back in is a replay: it gets a fresh set of attempts.
		const replay = typeof (carried as { failedAt?: unknown }).failedAt === 'string';
		const envelope: DeliveryEnvelope = { ...carried, attempts: carried.attempts ?? [], nextAttempt: replay ? 1 : carried.nextAttempt ?? 1 };
		if (replay) {
			for (const key of ['failedAt', 'reason', 'lastError', 'originalQueue'] as const) delete (envelope as Partial<Record<typeof key, unknown>>)[key];
			envelope.attempts = [];
			delete envelope.notBefore;
		}
		return { itemIndex, envelope };
	}
	const url = String(ctx.getNodeParameter('url', itemIndex, '')).trim();
	if (!url) return { itemIndex, problem: 'URL is empty' };
	const eventType = String(ctx.getNodeParameter('eventType', itemIndex, '')).trim();
	if (!eventType) return { itemIndex, problem: 'Event Type is empty' };
	let payload: unknown = json;
	if (ctx.getNodeParameter('payloadMode', itemIndex) === 'custom') {
		const raw = ctx.getNodeParameter('payload', itemIndex);
		if (typeof raw === 'string') {
			try {
				payload = JSON.parse(raw);
			} catch (error) {
				return { itemIndex, problem: `JSON payload does not parse: ${(error as Error).message}` };
			}
		} else {
			payload = raw;
		}
	}
	const headerRows = (ctx.getNodeParameter('extraHeaders.header', itemIndex, []) as Array<{ name: string; value: string }>) ?? [];
	const headers: Record<string, string> = {};
	for (const { name, value } of headerRows) if (name?.trim()) headers[name.trim()] = String(value ?? '');
	const traceId = String(ctx.getNodeParameter('traceId', itemIndex, '') ?? '').trim() || undefined;
	const method = ctx.getNodeParameter('method', itemIndex) === 'PUT' ? 'PUT' : 'POST';
	return { itemIndex, envelope: newEnvelope({ traceId, eventType, url, method, payload, headers }) };
}

function schedule(ctx: IExecuteFunctions): BackoffSchedule {
	if (ctx.getNodeParameter('backoff', 0) === 'list') {
		try {
			return { kind: 'list', delaysMs: parseDelayList(String(ctx.getNodeParameter('delays', 0, ''))) };
		} catch (error) {
			throw new NodeOperationError(ctx.getNode(), `Delays: ${(error as Error).message}`, {
				description: 'List the waits before each retry separated by commas, e.g. 5s, 5m, 30m, 2h',
			});
		}
	}
	return { kind: 'exponential', baseMs: ctx.getNodeParameter('baseDelayMs', 0, 1000) as number, factor: 2, jitter: 0.2 };
}

/** The longest wait between attempts inside this execution; refused above the bound, with why. */
function maxInlineWait(ctx: IExecuteFunctions): number {
	const ms = ctx.getNodeParameter('maxInlineWaitMs', 0, DEFAULT_INLINE_WAIT_MS) as number;
	const problem = inlineWaitProblem(ms);
	if (problem) {
		throw new NodeOperationError(ctx.getNode(), problem, {
			description:
				"A wait inside an execution holds the consumer's batch unacknowledged: past the consumer's Max Execution Time " +
				'the batch is claimed again and runs a second time beside the first. Keep this at a few seconds and turn on ' +
				'"Long Waits Via Retry Queue": longer waits are then parked in Redis and the execution ends at once.',
		});
	}
	return ms;
}

/** Failed-output text for a retry due later than this execution may wait, with no retry queue to hold it. */
function notQueuedError(notBefore: number, maxInlineWaitMs: number, lastError: string | undefined): string {
	const seconds = (ms: number) => `${Math.max(0, Math.round(ms / 1000))} s`;
	return (
		`Next retry is due in ${seconds(notBefore - Date.now())}, longer than Max Wait in Execution (${seconds(maxInlineWaitMs)}), ` +
		`and Long Waits Via Retry Queue is off, so it is not retried (${lastError ?? 'failed'}). ` +
		'Turn on Use Redis and Long Waits Via Retry Queue to retry it later, or replay the dead letter'
	);
}

function summary(envelope: DeliveryEnvelope): IDataObject {
	let url = envelope.url;
	try {
		url = displayUrl(new URL(envelope.url));
	} catch {
		// An invalid URL is reported as typed; it is what the user has to fix.
	}
	return { webhookId: envelope.webhookId, eventType: envelope.eventType, traceId: envelope.traceId, url, method: envelope.method };
}

/** An item whose delivery cannot even be planned (no URL, bad JSON), for the Failed output. */
function invalidItem(ctx: IExecuteFunctions, plan: Extract<Planned, { problem: string }>, extra: IDataObject = {}): INodeExecutionData {
	const error = new NodeOperationError(ctx.getNode(), `Item ${plan.itemIndex}: ${plan.problem}`, { itemIndex: plan.itemIndex });
	const json = ctx.getInputData()[plan.itemIndex].json;
	return { json: { ...json, webhook: { reason: 'invalid', error: error.message, attempts: [], ...extra } }, pairedItem: { item: plan.itemIndex } };
}

/**
 * An editor test run without "Deliver in Test Runs": each item shows the request it would send
 * (testRun: true) on Delivered, or why it could not be sent on Failed. Nothing is sent, nothing
 * in Redis is read or written, nothing is counted.
 */
function previewItems(ctx: IExecuteFunctions, plans: Planned[], settings: DeliverySettings): INodeExecutionData[][] {
	const now = Date.now();
	const delivered: INodeExecutionData[] = [];
	const failed: INodeExecutionData[] = [];
	for (const plan of plans) {
		if ('problem' in plan) {
			failed.push(invalidItem(ctx, plan, { testRun: true }));
			continue;
		}
		const { itemIndex, envelope } = plan;
		const base = { ...ctx.getInputData()[itemIndex].json };
		const pairedItem = { item: itemIndex };
		const preview = previewDelivery(envelope, settings, now);
		const webhook: IDataObject = { ...summary(envelope), testRun: true };
		if (envelope.notBefore !== undefined) webhook.notBefore = new Date(envelope.notBefore).toISOString();
		if (preview.ok) {
			// An interface has no index signature, so TypeScript will not take it as IDataObject; it is plain JSON.
			delivered.push({ json: { ...base, webhook: { ...webhook, request: preview.request as unknown as IDataObject } }, pairedItem });
		} else {
			failed.push({ json: { ...base, webhook: { ...webhook, reason: 'permanent', endpointGone: false, error: preview.error, attempts: [] } }, pairedItem });
		}
	}
	return [delivered, failed, []];
}

/** Delivers every item; one function so the node class stays a thin face. */
/** The signing keys and secret headers of the selected Webhook Signing credential, if any. */
async function signingOf(ctx: IExecuteFunctions): Promise<WebhookSigning> {
	// Unsigned only when no signing credential is selected: one that is selected but cannot be
	// loaded (deleted, no access) must fail the run, never quietly send unsigned webhooks.
	if (!ctx.getNode().credentials?.[WEBHOOK_SIGNING_CREDENTIAL]) return { keys: [], secretHeaders: {} };
	const credential = await ctx.getCredentials(WEBHOOK_SIGNING_CREDENTIAL);
	try {
		return toWebhookSigning(credential);
	} catch (error) {
		throw new NodeOperationError(ctx.getNode(), (error as Error).message, {
			description: 'Open the Webhook Signing credential and paste a whsec_ secret (base64 of 24–64 random bytes), the same one the receiver holds',
		});
	}
}

function deliverySettingsOf(ctx: IExecuteFunctions, options: Options, signing: WebhookSigning): DeliverySettings {
	return {
		attempts: ctx.getNodeParameter('attempts', 0, 3) as number,
		schedule: schedule(ctx),
		timeoutMs: ctx.getNodeParameter('timeoutMs', 0, 10_000) as number,
		allowInternal: options.allowInternal === true,
		signingKeys: signing.keys,
		secretHeaders: signing.secretHeaders,
		// Always bounded: with no retry queue a longer wait ends in Failed instead of a sleep.
		maxInlineWaitMs: maxInlineWait(ctx),
		retryAfterCapMs: (options.retryAfterCapSeconds ?? 3600) * 1000,
		signal: ctx.getExecutionCancelSignal?.(),
	};
}

/** Which of the run's Redis features are on (none without Redis; fewer in editor runs). */
interface RunFlags {
	manual: boolean;
	idempotency: boolean;
	useRetryQueue: boolean;
	useDlq: boolean;
}

function runFlagsOf(ctx: IExecuteFunctions, manual: boolean, redis: Redis | undefined): RunFlags {
	return {
		manual,
		idempotency: !!redis && !manual && (ctx.getNodeParameter('idempotency', 0, true) as boolean),
		useRetryQueue: !!redis && (ctx.getNodeParameter('retryQueue', 0, false) as boolean),
		useDlq: !!redis && !manual && (ctx.getNodeParameter('deadLetter', 0, true) as boolean),
	};
}

type Deliverable = Extract<Planned, { envelope: DeliveryEnvelope }>;
type Done = { itemIndex: number; envelope: DeliveryEnvelope; outcome: DeliveryOutcome | 'notDue' | { alreadyDelivered: IDataObject } };

/** Each deliverable item's outcome: already delivered (idempotency), parked until due, or sent. */
async function runDeliveries(
	deliverable: Deliverable[],
	already: Awaited<ReturnType<typeof deliveredRecords>>,
	options: Options,
	settings: DeliverySettings,
	flags: RunFlags,
): Promise<Done[]> {
	const now = Date.now();
	return await mapBounded(deliverable, Math.max(1, options.concurrency ?? 10), async ({ itemIndex, envelope }, index): Promise<Done> => {
		// An interface has no index signature, so TypeScript will not take it as IDataObject; it is plain JSON.
		if (already[index]) return { itemIndex, envelope, outcome: { alreadyDelivered: already[index] as unknown as IDataObject } };
		if (!flags.manual && flags.useRetryQueue && envelope.notBefore !== undefined && envelope.notBefore > now) return { itemIndex, envelope, outcome: 'notDue' };
		return { itemIndex, envelope, outcome: await deliver(envelope, settings) };
	});
}

/** The node's three outputs and what the run must write to Redis afterwards. */
interface Sorted {
	delivered: INodeExecutionData[];
	failed: INodeExecutionData[];
	deferred: INodeExecutionData[];
	toRecord: Parameters<typeof recordDelivered>[2];
	toDefer: DeliveryEnvelope[];
	toDeadLetter: Parameters<typeof deadLetterDeliveries>[2];
}

/** The error text of a failed (or not queueable) delivery. */
function failureText(outcome: Exclude<DeliveryOutcome, { result: 'delivered' }>, reason: string, settings: DeliverySettings): string {
	const last = outcome.attempts[outcome.attempts.length - 1];
	if (reason === 'gone') return 'Endpoint gone (HTTP 410): the receiver removed this webhook; stop sending to it';
	if (reason === 'notQueuedInManualRun') return `Next retry is due later; editor runs do not queue retries (${last?.error ?? ''})`;
	if (outcome.result === 'deferred') return notQueuedError(outcome.notBefore, settings.maxInlineWaitMs ?? 0, last?.error);
	return last?.error ?? 'failed';
}

function sortOne(sorted: Sorted, done: Done, base: IDataObject, settings: DeliverySettings, flags: RunFlags): void {
	const { itemIndex, envelope, outcome } = done;
	const pairedItem = { item: itemIndex };
	if (outcome === 'notDue') {
		sorted.toDefer.push(envelope);
		sorted.deferred.push({ json: { ...base, webhook: { ...summary(envelope), nextAttempt: envelope.nextAttempt, notBefore: new Date(envelope.notBefore!).toISOString(), parked: true } }, pairedItem });
	} else if ('alreadyDelivered' in outcome) {
		sorted.delivered.push({ json: { ...base, webhook: { ...summary(envelope), alreadyDelivered: true, ...outcome.alreadyDelivered } }, pairedItem });
	} else if (outcome.result === 'delivered') {
		sorted.toRecord.push({ webhookId: envelope.webhookId, record: { status: outcome.status, at: new Date().toISOString(), attempts: outcome.attempts.length } });
		sorted.delivered.push({ json: { ...base, webhook: { ...summary(envelope), status: outcome.status, attempts: outcome.attempts.length, durationMs: outcome.durationMs, attemptLog: attemptsJson(outcome.attempts) } }, pairedItem });
	} else if (outcome.result === 'deferred' && !flags.manual && flags.useRetryQueue) {
		sorted.toDefer.push({ ...envelope, attempts: outcome.attempts, nextAttempt: outcome.nextAttempt, notBefore: outcome.notBefore });
		sorted.deferred.push({ json: { ...base, webhook: { ...summary(envelope), nextAttempt: outcome.nextAttempt, notBefore: new Date(outcome.notBefore).toISOString(), attempts: attemptsJson(outcome.attempts) } }, pairedItem });
	} else {
		const reason = outcome.result === 'deferred' ? (flags.manual ? 'notQueuedInManualRun' : 'retryNotQueued') : outcome.reason;
		const error = failureText(outcome, reason, settings);
		sorted.failed.push({ json: { ...base, webhook: { ...summary(envelope), reason, endpointGone: reason === 'gone', error, attempts: attemptsJson(outcome.attempts) } }, pairedItem });
		sorted.toDeadLetter.push({ envelope, reason, attempts: outcome.attempts });
	}
}

/** Idempotency records, parked retries and dead letters, in that order. */
async function persistOutcomes(ctx: IExecuteFunctions, redis: Redis, names: WebhookQueueNames, sorted: Sorted, flags: RunFlags): Promise<void> {
	if (flags.idempotency) await recordDelivered(redis, names, sorted.toRecord, (ctx.getNodeParameter('idempotencyHours', 0, 72) as number) * 3600);
	if (flags.useRetryQueue) await deferDeliveries(redis, names, sorted.toDefer);
	if (!flags.useDlq || !sorted.toDeadLetter.length) return;
	const results = await deadLetterDeliveries(redis, names, sorted.toDeadLetter, Date.now());
	const refused = results.find((r) => !r.ok);
	if (refused && !refused.ok) {
		throw new NodeOperationError(ctx.getNode(), `Could not add failed deliveries to ${names.dlqStream}: ${refused.error.message}`, {
			description: 'Check that the dead-letter stream key is a stream (not another Redis type) and Redis has memory left',
		});
	}
}

async function deliverItems(
	ctx: IExecuteFunctions,
	manual: boolean,
	options: Options,
	names: WebhookQueueNames,
	redis: Redis | undefined,
	metrics: MetricsScope | undefined,
): Promise<INodeExecutionData[][]> {
	const items = ctx.getInputData();
	const signing = await signingOf(ctx);
	const flags = runFlagsOf(ctx, manual, redis);
	const settings = deliverySettingsOf(ctx, options, signing);

	// Due retries ride along with any delivery run, so the queue drains while traffic flows.
	if (flags.useRetryQueue && !manual && redis) await releaseDue(redis, names, Date.now());

	const plans = items.map((item, i) => planItem(ctx, item, i));
	if (manual && options.deliverInTestRuns !== true) return previewItems(ctx, plans, settings);
	const deliverable = plans.filter((p): p is Deliverable => 'envelope' in p);
	const already = flags.idempotency && redis ? await deliveredRecords(redis, names, deliverable.map((p) => p.envelope.webhookId)) : [];
	const done = await runDeliveries(deliverable, already, options, settings, flags);

	const sorted: Sorted = { delivered: [], failed: [], deferred: [], toRecord: [], toDefer: [], toDeadLetter: [] };
	for (const plan of plans) if ('problem' in plan) sorted.failed.push(invalidItem(ctx, plan));
	for (const one of done) sortOne(sorted, one, { ...items[one.itemIndex].json }, settings, flags);

	if (redis && !manual) await persistOutcomes(ctx, redis, names, sorted, flags);
	const { delivered, failed, deferred } = sorted;
	await recordMetrics(ctx.logger, redis, metrics, [...webhookEvents(delivered, 'delivered'), ...webhookEvents(failed, 'failed')]);
	const order = (item: INodeExecutionData) => (item.pairedItem as { item: number }).item;
	for (const list of [delivered, failed, deferred]) list.sort((a, b) => order(a) - order(b));
	return [delivered, failed, deferred];
}

/**
 * webhook{outcome} per final result, keyed by the delivery's webhookId (stable for one traceId,
 * event type and payload), so two events of one lead are two deliveries but a redelivery is not.
 */
function webhookEvents(items: INodeExecutionData[], outcome: 'delivered' | 'failed'): DecisionEvent[] {
	return items.flatMap(({ json }) => {
		const webhook = json.webhook as IDataObject | undefined;
		const key = webhook?.webhookId ?? json.traceId ?? json.id;
		return typeof key === 'string' && key ? [{ traceId: key, counter: COUNTER.webhook, labels: { outcome } }] : [];
	});
}

// An interface has no index signature, so TypeScript will not take it as IDataObject; it is plain JSON.
const attemptsJson = (attempts: AttemptRecord[]) => attempts as unknown as IDataObject[];

export class WebhookDeliver implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Webhook Deliver',
		name: 'webhookDeliver',
		icon: { light: 'file:webhookDeliver.svg', dark: 'file:webhookDeliver.dark.svg' },
		group: ['output'],
		version: 1,
		subtitle: '={{ $parameter["operation"] === "deliver" ? $parameter["method"] + " " + $parameter["eventType"] : "Release due retries" }}',
		description: 'Deliver signed webhooks (Standard Webhooks) with retries, Retry-After, dead letters and an SSRF guard',
		defaults: { name: 'Webhook Deliver' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main, NodeConnectionTypes.Main],
		outputNames: ['Delivered', 'Failed', 'Deferred'],
		credentials: [
			{ name: 'leadPipelineWebhookSigningApi', required: false, testedBy: 'leadPipelineWebhookSigningCheck' },
			{ name: 'leadPipelineRedis', required: true, testedBy: 'leadPipelineRedisConnectionTest', displayOptions: { show: { useRedis: [true] } } },
		],
		properties: webhookDeliverProperties,
	};

	methods = { credentialTest: { ...redisCredentialTestMethods, ...webhookSigningTestMethods } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const manual = this.getMode() === 'manual';
		const options = this.getNodeParameter('options', 0, {}) as Options;
		const names = queueNames(options);
		const useRedis = this.getNodeParameter('useRedis', 0, false) as boolean;
		let redis: Redis | undefined;
		let borrowed: BorrowedRedis | undefined;
		let metrics: MetricsScope | undefined;
		if (useRedis) {
			try {
				const fields = await cachedCredentials(this, REDIS_CREDENTIAL);
				metrics = metricsScope(this.getMode(), options as IDataObject, settingsForMetrics(fields, this.getTimezone()));
				borrowed = await borrowRedis(toRedisCredentialData(fields));
				redis = borrowed.redis;
			} catch (error) {
				throw new NodeOperationError(this.getNode(), error as Error);
			}
		}
		try {
			if (this.getNodeParameter('operation', 0) === 'releaseDueRetries') {
				if (!redis) throw new NodeOperationError(this.getNode(), 'Release Due Retries needs Redis', { description: 'Turn on "Use Redis" and choose the Redis credential' });
				// An editor run only reports; it does not move production entries.
				const released = manual ? 0 : await releaseDue(redis, names, Date.now());
				return [[{ json: { released, retryStream: names.retryStream, manual }, pairedItem: { item: 0 } }], [], []];
			}
			return await deliverItems(this, manual, options, names, redis, metrics);
		} finally {
			borrowed?.release();
		}
	}
}
