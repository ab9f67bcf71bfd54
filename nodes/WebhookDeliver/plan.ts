import { type IDataObject, type IExecuteFunctions, type INodeExecutionData, NodeOperationError } from 'n8n-workflow';

import { displayUrl, parseDelayList, type BackoffSchedule } from '../shared/http';
import { DEFAULT_INLINE_WAIT_MS, inlineWaitProblem, isEnvelope, newEnvelope, previewDelivery, type AttemptRecord, type DeliveryEnvelope, type DeliverySettings, DEFAULT_QUEUE_NAMES, type WebhookQueueNames } from '../shared/webhook';

/** What each input item asks for, and how a plan or an attempt log is shown on an output item. */

export interface Options {
	allowInternal?: boolean;
	concurrency?: number;
	deliverInTestRuns?: boolean;
	dlqStream?: string;
	keyPrefix?: string;
	retryAfterCapSeconds?: number;
	retryStream?: string;
}

export type Planned =
	| { itemIndex: number; envelope: DeliveryEnvelope }
	| { itemIndex: number; problem: string };

export function queueNames(options: Options): WebhookQueueNames {
	return {
		keyPrefix: options.keyPrefix || DEFAULT_QUEUE_NAMES.keyPrefix,
		retryStream: options.retryStream || DEFAULT_QUEUE_NAMES.retryStream,
		dlqStream: options.dlqStream || DEFAULT_QUEUE_NAMES.dlqStream,
	};
}

/** The delivery an item asks for: a consumed retry/DLQ envelope as is, otherwise from the parameters. */
export function planItem(ctx: IExecuteFunctions, item: INodeExecutionData, itemIndex: number): Planned {
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

export function schedule(ctx: IExecuteFunctions): BackoffSchedule {
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
export function maxInlineWait(ctx: IExecuteFunctions): number {
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
export function notQueuedError(notBefore: number, maxInlineWaitMs: number, lastError: string | undefined): string {
	const seconds = (ms: number) => `${Math.max(0, Math.round(ms / 1000))} s`;
	return (
		`Next retry is due in ${seconds(notBefore - Date.now())}, longer than Max Wait in Execution (${seconds(maxInlineWaitMs)}), ` +
		`and Long Waits Via Retry Queue is off, so it is not retried (${lastError ?? 'failed'}). ` +
		'Turn on Use Redis and Long Waits Via Retry Queue to retry it later, or replay the dead letter'
	);
}

export function summary(envelope: DeliveryEnvelope): IDataObject {
	let url = envelope.url;
	try {
		url = displayUrl(new URL(envelope.url));
	} catch {
		// An invalid URL is reported as typed; it is what the user has to fix.
	}
	return { webhookId: envelope.webhookId, eventType: envelope.eventType, traceId: envelope.traceId, url, method: envelope.method };
}

/** An item whose delivery cannot even be planned (no URL, bad JSON), for the Failed output. */
export function invalidItem(ctx: IExecuteFunctions, plan: Extract<Planned, { problem: string }>, extra: IDataObject = {}): INodeExecutionData {
	const error = new NodeOperationError(ctx.getNode(), `Item ${plan.itemIndex}: ${plan.problem}`, { itemIndex: plan.itemIndex });
	const json = ctx.getInputData()[plan.itemIndex].json;
	return { json: { ...json, webhook: { reason: 'invalid', error: error.message, attempts: [], ...extra } }, pairedItem: { item: plan.itemIndex } };
}

/**
 * An editor test run without "Deliver in Test Runs": each item shows the request it would send
 * (testRun: true) on Delivered, or why it could not be sent on Failed. Nothing is sent, nothing
 * in Redis is read or written, nothing is counted.
 */
export function previewItems(ctx: IExecuteFunctions, plans: Planned[], settings: DeliverySettings): INodeExecutionData[][] {
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

// An interface has no index signature, so TypeScript will not take it as IDataObject; it is plain JSON.
export const attemptsJson = (attempts: AttemptRecord[]) => attempts as unknown as IDataObject[];
