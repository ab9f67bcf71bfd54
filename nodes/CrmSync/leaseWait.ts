import type { IExecuteFunctions } from 'n8n-workflow';

import { PushInProgressError, type SyncOutcome } from '../shared/crm';

/**
 * Syncs, waiting while another execution holds the push lease if that lease lapses within
 * `waitForPushMs`: it polls each second, so a push that finishes gives "already pushed" at once, and
 * a lease that lapses (n8n killed mid-push) is taken over, looking the CRM up before creating.
 * Failing the batch instead redelivers it every claim timeout and could dead-letter the whole batch
 * before a dead execution's lease lapses. A lease that outlasts the wait fails at once. The time
 * spent waiting never exceeds `maxInRunMs` (the in-run bound): a live push renews its lease, so
 * past the bound the item is handed back (retry queue) or fails for the consumer to retry.
 */
export async function syncWaitingOutLease(ctx: IExecuteFunctions, attempt: () => Promise<SyncOutcome>, waitForPushMs: number, maxInRunMs: number): Promise<{ outcome: SyncOutcome } | { error: unknown }> {
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
