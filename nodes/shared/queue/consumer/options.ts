import { MIN_CLAIM_TIMEOUT_MS } from '../streamGroup';
import type { ConsumerMetrics } from './metricsHook';

export type AckMode = 'executionSucceeds' | 'executionFinishes' | 'immediately';

/**
 * What to do when the execution pauses at a Wait node. n8n saves a waiting execution in its
 * database and finishes it later, but the trigger is never told how it ended.
 * - acknowledge: the entries were handed over to n8n; acknowledge them when the execution waits.
 * - leavePending: keep them pending with the reason "waiting"; they are redelivered after the claim
 *   timeout (and dead-lettered after Max Retries).
 */
export type WaitingMode = 'acknowledge' | 'leavePending';

export interface ConsumerOptions {
	stream: string;
	group: string;
	consumer: string;
	/** Where a newly created group starts: '$' new entries only, '0' everything in the stream. */
	startId: string;
	batchSize: number;
	/** Batches (executions) in flight at once; the next batch is read only when one finishes. */
	concurrency: number;
	blockMs: number;
	/** Deliveries an entry gets before it is dead-lettered. */
	maxRetries: number;
	/** Idle time after which another consumer may take over a pending entry (≥ 3000 ms). */
	claimTimeoutMs: number;
	/**
	 * How often in-flight entries are renewed; default a third of the claim timeout. At most half
	 * of it, so one late or lost renewal still leaves the entries ours.
	 */
	heartbeatMs?: number;
	dlqStream: string;
	/** Dead letters the DLQ may hold; at the cap entries stay pending instead (0 = no cap). */
	dlqMaxLen?: number;
	parseJson: boolean;
	ackMode: AckMode;
	waitingMode?: WaitingMode;
	/**
	 * How long a batch's execution may take before its slot is lent to the next batch (0 = no limit).
	 * Its entries stay held (renewed) while the execution runs, up to releaseAfterMs.
	 */
	maxExecutionMs?: number;
	/**
	 * From a batch's start, how long its entries stay held for an execution that has not reported
	 * back. Past it they are released for retry even if the execution still runs (it is presumed
	 * lost). 0 = released at Max Execution Time (the old behaviour). Default DEFAULT_RELEASE_AFTER_MS.
	 */
	releaseAfterMs?: number;
	/** Consumers of the group idle this long with nothing pending are deleted (0 = never). Default 10 min. */
	idleConsumerMs?: number;
	/** Read failures in a row after which the consumer gives up and reports (default 10). */
	maxConsecutiveFailures?: number;
	/** Told what the consumer retried and dead-lettered (the node counts it); absent = not counted. */
	metrics?: ConsumerMetrics;
}

/** See ConsumerOptions.releaseAfterMs: a day, far past any healthy execution. */
export const DEFAULT_RELEASE_AFTER_MS = 86_400_000;

export const DEFAULT_IDLE_CONSUMER_MS = 600_000;

/** Three renewals per claim timeout unless set: one late or lost renewal still leaves the entries ours. */
export function heartbeatMsOf(options: ConsumerOptions): number {
	return options.heartbeatMs ?? Math.floor(options.claimTimeoutMs / 3);
}

export function releaseAfterMsOf(options: ConsumerOptions): number {
	return options.releaseAfterMs ?? DEFAULT_RELEASE_AFTER_MS;
}

/** Throws a RangeError for timings that would let a healthy batch lose its entries. */
export function checkConsumerOptions(options: ConsumerOptions): void {
	if (!(options.claimTimeoutMs >= MIN_CLAIM_TIMEOUT_MS)) {
		throw new RangeError(`Claim timeout must be at least ${MIN_CLAIM_TIMEOUT_MS} ms (got ${options.claimTimeoutMs})`);
	}
	const heartbeat = heartbeatMsOf(options);
	if (!(heartbeat >= 100 && heartbeat * 2 <= options.claimTimeoutMs)) {
		throw new RangeError(`Heartbeat interval (${heartbeat} ms) must be from 100 ms to half the claim timeout (${options.claimTimeoutMs} ms)`);
	}
	const release = releaseAfterMsOf(options);
	if (release > 0 && release < (options.maxExecutionMs ?? 0)) {
		throw new RangeError(`Release after (${release} ms) must be 0 or at least Max Execution Time (${options.maxExecutionMs} ms)`);
	}
}
