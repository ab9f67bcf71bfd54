import type Redis from 'ioredis';
import { type IDataObject, type IExecuteFunctions, type INodeExecutionData, NodeOperationError } from 'n8n-workflow';

import { recordMetrics, type MetricsScope } from '../common/metricsOptions';
import { toWebhookSigning, WEBHOOK_SIGNING_CREDENTIAL, type WebhookSigning } from '../common/webhookSigningCredential';
import { mapBounded } from '../shared/http';
import { COUNTER, type DecisionEvent } from '../shared/metrics';
import { deliver, type DeliveryEnvelope, type DeliveryOutcome, type DeliverySettings, deadLetterDeliveries, deferDeliveries, deliveredRecords, recordDelivered, releaseDue, type WebhookQueueNames } from '../shared/webhook';
import { attemptsJson, invalidItem, maxInlineWait, notQueuedError, planItem, previewItems, schedule, summary, type Options, type Planned } from './plan';

/** One delivery run: settings, sends, the three outputs, and what it writes to Redis afterwards. */

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

export async function deliverItems(
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
