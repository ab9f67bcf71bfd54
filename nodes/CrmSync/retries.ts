import type Redis from 'ioredis';
import { type IDataObject, type IExecuteFunctions, type INodeExecutionData, NodeOperationError } from 'n8n-workflow';

import { CrmDeferredError, PushInProgressError, redactSecrets, parkForRetry, releaseDueRetries, retryStateOf, type CrmRetryEntry, type SyncTarget } from '../shared/crm';
import type { LaneResult } from '../shared/http';

/**
 * What becomes of each item that did not finish in this execution, when the retry queue is on:
 * - throttled or asked to wait past the bound (CrmDeferredError), or another execution holds the
 *   push: parked until then, no failure counted;
 * - never started (an earlier item in its lane failed): parked untried, due at once;
 * - failed on its own (5xx, timeout, lost reply): parked with its own error and one more failure,
 *   backing off; after Max Retries it leaves through the Failed output with that error.
 */
export type ItemResult = LaneResult<INodeExecutionData & { output: 0 | 1 | 2 }>;

/** The hard ceiling on one wait inside an execution: well below the template's 30 s claim timeout. */
export const MAX_IN_RUN_WAIT_SECONDS = 20;
export const DEFAULT_IN_RUN_WAIT_SECONDS = 10;
const DEFAULT_CRM_MAX_RETRIES = 4;
const FAILURE_BACKOFF_MS = 10_000;
const MAX_FAILURE_BACKOFF_MS = 10 * 60_000;

/** "Longest Wait in an Execution", validated: a longer wait would outlive the consumer's claim. */
export function inRunWaitMs(ctx: IExecuteFunctions, options: IDataObject): number {
	const seconds = Number(options.maxWaitSeconds ?? DEFAULT_IN_RUN_WAIT_SECONDS);
	if (!(seconds > 0) || seconds > MAX_IN_RUN_WAIT_SECONDS) {
		throw new NodeOperationError(ctx.getNode(), `Longest Wait in an Execution must be more than 0 and at most ${MAX_IN_RUN_WAIT_SECONDS} seconds (it is ${String(options.maxWaitSeconds)})`, {
			description: `A wait inside the execution holds the whole batch: past the stream consumer's claim timeout (30 s in the template) another consumer may take the batch over, and past its Max Execution Time the batch counts as failed. Longer waits (a CRM's Retry-After, a rate-limit slot far away) go to the Retry Queue instead. Set it to ${DEFAULT_IN_RUN_WAIT_SECONDS}.`,
		});
	}
	return Math.round(seconds * 1000);
}

export interface RetryQueue {
	/** Puts due messages of the batch's streams back before pushing (the release also runs on a schedule). */
	releaseFor(items: INodeExecutionData[]): Promise<void>;
	park(entries: CrmRetryEntry[]): Promise<void>;
}

function streamOf(json: IDataObject, fallback: string): string {
	return typeof json.stream === 'string' && json.stream ? json.stream : fallback;
}

/** Where items that carry no stream of their own (not from a consumer trigger) are put back. */
export function fallbackStream(ctx: IExecuteFunctions): string {
	return String(ctx.getNodeParameter('stream', 0, 'syncQueue') || 'syncQueue');
}

export function retryQueueOf(ctx: IExecuteFunctions, options: IDataObject, redis: Redis): RetryQueue | undefined {
	if (options.retryQueue !== true) return undefined;
	const fallback = fallbackStream(ctx);
	return {
		async releaseFor(items) {
			const streams = new Set(items.map((i) => streamOf(i.json, fallback)));
			for (const stream of streams) await releaseDueRetries(redis, stream, Date.now());
		},
		async park(entries) {
			await parkForRetry(redis, entries);
		},
	};
}

function backoff(attempts: number): number {
	return Math.min(MAX_FAILURE_BACKOFF_MS, FAILURE_BACKOFF_MS * 2 ** Math.max(0, attempts - 1));
}

/** Where each unfinished item goes; items that finished are left to the caller. */
export function planRetries(
	results: ItemResult[],
	items: INodeExecutionData[],
	targets: SyncTarget[],
	options: IDataObject,
	fallback: string,
	now: number,
	secrets: string[],
): { park: CrmRetryEntry[]; failed: INodeExecutionData[] } {
	const maxRetries = Math.max(1, Math.floor(Number(options.maxRetries ?? DEFAULT_CRM_MAX_RETRIES)));
	const park: CrmRetryEntry[] = [];
	const failed: INodeExecutionData[] = [];
	// Untried items behind a throttle would only meet it again: they come back when it lifts.
	const throttledUntil = Math.min(...results.flatMap((r) => ('error' in r && r.error instanceof CrmDeferredError ? [r.error.retryAt] : [])));
	const untriedAt = Number.isFinite(throttledUntil) ? Math.max(now, throttledUntil) : now;
	results.forEach((r, i) => {
		if ('value' in r) return;
		const target = targets[i];
		const json = items[i].json;
		const message = (target.message && typeof target.message === 'object' ? target.message : json) as Record<string, unknown>;
		const before = retryStateOf(message);
		const entry = (retry: CrmRetryEntry['retry']): CrmRetryEntry => ({ stream: streamOf(json, fallback), opportunityId: target.opportunityId!, message, retry });
		if ('skipped' in r) {
			park.push(entry({ ...before, retryAt: untriedAt }));
			return;
		}
		const error = r.error;
		if (error instanceof CrmDeferredError) {
			park.push(entry({ ...before, retryAt: error.retryAt }));
			return;
		}
		if (error instanceof PushInProgressError) {
			const until = error.leaseExpiresAt ? Date.parse(error.leaseExpiresAt) : NaN;
			park.push(entry({ ...before, retryAt: Number.isFinite(until) ? until + 100 : now + backoff(1) }));
			return;
		}
		const lastError = redactSecrets(error instanceof Error ? error.message : String(error), secrets);
		const attempts = before.attempts + 1;
		if (attempts >= maxRetries) {
			failed.push({
				json: { kind: 'failed', opportunityId: target.opportunityId, traceId: target.traceId, error: lastError, attempts, retriesExhausted: true, ...(json.id ? { streamEntryId: json.id } : {}) },
				pairedItem: { item: i },
			});
			return;
		}
		park.push(entry({ attempts, lastError, retryAt: now + backoff(attempts) }));
	});
	return { park, failed };
}
