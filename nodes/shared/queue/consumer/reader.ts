import type Redis from 'ioredis';

import { autoClaim, ensureGroup, readGroup } from '../streamGroup';
import type { DeadLetterMover } from './deadLetterMover';
import type { ConsumerOptions } from './options';
import type { ConsumerIds, ConsumerLog, ConsumerStats, CountedEntry, ReadEntry } from './types';

/**
 * Where the next batch comes from, in this order: this consumer's own pending entries (left by a
 * crash or a lost ack; once, from the start), then stale entries of dead or stuck consumers
 * (XAUTOCLAIM past the claim timeout), then new entries (a blocking read on its own connection).
 * Re-read and claimed entries past Max Retries go to the DLQ on the way.
 */
export class EntryReader {
	/** Undefined once this consumer's own pending entries have all been re-read. */
	private ownPendingCursor: string | undefined = '0';

	private claimCursor = '0-0';

	private nextClaimAt = 0;

	constructor(
		private readonly command: Redis,
		private readonly blocking: Redis,
		private readonly options: ConsumerOptions,
		private readonly log: ConsumerLog,
		private readonly stats: ConsumerStats,
		private readonly deadLetters: DeadLetterMover,
	) {}

	/** The next batch (maybe empty after a block interval); `running` is checked before each read. */
	async next(running: () => boolean): Promise<ReadEntry[]> {
		const o = this.options;
		const ids = this.ids();
		let batch: ReadEntry[] = [];
		if (this.ownPendingCursor !== undefined) {
			batch = await readGroup(this.command, { ...ids, count: o.batchSize, id: this.ownPendingCursor });
			this.ownPendingCursor = batch.length ? batch[batch.length - 1].id : undefined;
			batch = await this.deadLetters.sortOutExhausted(batch);
		}
		if (batch.length === 0 && running() && Date.now() >= this.nextClaimAt) batch = await this.claimStale();
		// Checked in the same tick as the read is sent: no XREADGROUP > after stop().
		if (batch.length === 0 && running()) {
			batch = await readGroup(this.blocking, { ...ids, count: o.batchSize, id: '>', blockMs: o.blockMs });
		}
		return batch;
	}

	/** XAUTOCLAIM entries idle longer than the claim timeout (dead or stuck consumers). */
	private async claimStale(): Promise<CountedEntry[]> {
		const o = this.options;
		const claim = await autoClaim(this.command, { ...this.ids(), minIdleMs: o.claimTimeoutMs, cursor: this.claimCursor, count: o.batchSize });
		this.claimCursor = claim.cursor;
		// A full pass over the pending list: the next one after half a claim timeout.
		if (claim.cursor === '0-0') this.nextClaimAt = Date.now() + Math.floor(o.claimTimeoutMs / 2);
		await this.deadLetters.moveTrimmed(claim.deletedIds);
		const entries = await this.deadLetters.sortOutExhausted(claim.entries);
		this.stats.claimed += entries.length;
		return entries;
	}

	/**
	 * After the group vanished (Redis restarted, stream deleted). Everything now in the stream
	 * arrived after the group was lost: none of it was processed by this group, so the new group
	 * starts at the beginning.
	 */
	async recreateGroup(): Promise<void> {
		const o = this.options;
		this.log.warn(`Group ${o.group} on ${o.stream} vanished (Redis restarted or stream deleted): recreating it`);
		await ensureGroup(this.command, o.stream, o.group, '0').catch(() => undefined);
	}

	private ids(): ConsumerIds {
		const { stream, group, consumer } = this.options;
		return { stream, group, consumer };
	}
}
