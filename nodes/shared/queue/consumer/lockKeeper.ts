import type Redis from 'ioredis';

import { isNoGroupError, renewOwned } from '../streamGroup';
import { acknowledgeOwned, recordErrors } from '../streams';
import { releaseAfterMsOf, type ConsumerOptions } from './options';
import type { SlotLender } from './slots';
import { sleep, timer } from './timers';
import type { BatchOutcome, ConsumerLog, ConsumerStats, Fence } from './types';

const ACK_ATTEMPTS = 5;

/**
 * Keeps the entries of running batches ours: a heartbeat resets their idle time so no claimer
 * takes them, acks are fenced on ownership, and a batch past Max Execution Time stays held until
 * it reports back or Release After presumes it lost.
 */
export class LockKeeper {
	/** Ids of batches running now; the heartbeat renews these while they are still ours. */
	private readonly held = new Set<string>();

	private renewing = false;

	private heartbeat: NodeJS.Timeout | undefined;

	/**
	 * @param onRenewalStuck called when a renewal fails or is still running at the next beat (Redis
	 * is presumably gone)
	 */
	constructor(
		private readonly command: Redis,
		private readonly options: ConsumerOptions,
		private readonly log: ConsumerLog,
		private readonly stats: ConsumerStats,
		private readonly onRenewalStuck: () => void,
	) {}

	hold(ids: string[]): void {
		for (const id of ids) this.held.add(id);
	}

	/** Stops renewing the ids: after their claim timeout they may be redelivered. */
	release(ids: string[]): void {
		for (const id of ids) this.held.delete(id);
	}

	isHeld(id: string): boolean {
		return this.held.has(id);
	}

	startHeartbeat(intervalMs: number): void {
		this.heartbeat = setInterval(() => void this.renew(), intervalMs);
	}

	stopHeartbeat(): void {
		clearInterval(this.heartbeat);
	}

	/** Renews the held entries; entries another consumer took meanwhile are let go, with a warning. */
	private async renew(): Promise<void> {
		if (this.renewing) {
			this.onRenewalStuck();
			return;
		}
		const ids = [...this.held];
		if (ids.length === 0) return;
		this.renewing = true;
		try {
			const lost = await renewOwned(this.command, this.options, ids);
			this.release(lost);
			if (lost.length) {
				this.log.warn(
					`${lost.length} in-flight entr${lost.length === 1 ? 'y' : 'ies'} of ${this.options.stream} are no longer ours (claimed by another consumer after a stall?): no longer renewed`,
				);
			}
		} catch (error) {
			this.log.debug(`Could not renew pending entries: ${(error as Error).message}`);
			this.onRenewalStuck();
		} finally {
			this.renewing = false;
		}
	}

	/**
	 * XACK, retried with backoff while the heartbeat keeps the ids ours: a lost ack must not let
	 * the batch be claimed and run again. After the last attempt the ids stay pending (at least once).
	 * Fenced: only entries still ours in the delivery this batch read are acked; ones another
	 * consumer took over meanwhile are theirs to finish (reported, never acked from here).
	 */
	async ack(fences: Fence[]): Promise<void> {
		const o = this.options;
		for (let attempt = 1; ; attempt++) {
			try {
				const { acked, takenOver } = await acknowledgeOwned(this.command, o, fences);
				this.stats.acked += acked.length;
				if (takenOver.length) {
					this.log.warn(
						`${takenOver.length} entr${takenOver.length === 1 ? 'y' : 'ies'} of ${o.stream} taken over by another consumer (or delivered again) while this execution ran: not acknowledged here, their new delivery finishes them`,
						{ takenOver },
					);
				}
				return;
			} catch (error) {
				const message = (error as Error).message;
				if (attempt >= ACK_ATTEMPTS || isNoGroupError(error)) {
					// NOGROUP: the group was recreated meanwhile; the entries were redelivered or are gone.
					this.log.warn(`Acknowledging ${fences.length} entries on ${o.stream} failed ${attempt} times, they stay pending: ${message}`);
					return;
				}
				this.log.debug(`Acknowledging on ${o.stream} failed (attempt ${attempt}), retrying: ${message}`);
				await sleep(100 * 2 ** attempt);
			}
		}
	}

	/**
	 * Past Max Execution Time (`limit`) the execution may still be running: its entries stay held
	 * (the heartbeat renews them) so no claimer runs the batch beside it, and its slot goes to the
	 * next batch. A late outcome is applied as usual (acks fenced on ownership). Only after Release
	 * After — presumed lost — are the entries given up for retry, outcome unknown.
	 */
	async holdPastMaxExecution(outcome: Promise<BatchOutcome>, ids: string[], limit: number, slots: SlotLender): Promise<BatchOutcome> {
		const o = this.options;
		const releaseAfter = releaseAfterMsOf(o);
		const overTime = `no result within Max Execution Time (${limit} ms)`;
		if (releaseAfter <= limit) return { status: 'unknown', reason: `${overTime}: outcome unknown, left pending for retry` };
		slots.lend();
		const release = timer(releaseAfter - limit);
		release.unref();
		try {
			const held = `${overTime}: still running, its entries stay held until it reports back or ${releaseAfter} ms after its start`;
			this.log.warn(`A batch of ${ids.length} entries on ${o.stream} has ${held}; the next batch starts`);
			await recordErrors(this.command, o.stream, o.group, ids.map((id) => ({ id, error: held }))).catch(() => undefined);
			const late = await Promise.race([outcome, release.promise]);
			if (late !== 'timeout') return late;
			return { status: 'unknown', reason: `no result within ${releaseAfter} ms (Release After): presumed lost, released for retry` };
		} finally {
			release.clear();
			slots.giveBack();
		}
	}
}
