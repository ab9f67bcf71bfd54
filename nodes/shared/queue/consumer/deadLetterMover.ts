import type Redis from 'ioredis';

import { deliveryCounts } from '../streamGroup';
import { DeadLetterRefused, dlqNearCap, MESSAGE_FIELD, moveToDeadLetters, type DeadLetter } from '../streams';
import type { MetricsHook } from './metricsHook';
import type { ConsumerOptions } from './options';
import type { ConsumerLog, ConsumerStats, CountedEntry, ReadEntry } from './types';

const TRIMMED = 'entry was trimmed from the stream before it was processed';

/** At most one near-cap warning per this long. */
const NEAR_CAP_WARNING_EVERY_MS = 60_000;

/**
 * Moves entries that are out of retries (or were trimmed away) to the DLQ stream, each atomically
 * with its ack. At the DLQ's cap they stay pending with a warning instead, never trimmed.
 */
export class DeadLetterMover {
	private nextNearCapWarningAt = 0;

	/** @param isHeld whether an id belongs to a batch running now (its count is not looked at) */
	constructor(
		private readonly command: Redis,
		private readonly options: ConsumerOptions,
		private readonly log: ConsumerLog,
		private readonly stats: ConsumerStats,
		private readonly metrics: MetricsHook,
		private readonly isHeld: (id: string) => boolean,
	) {}

	/**
	 * Looks up delivery counts of re-read or claimed entries. Entries past Max Retries (or trimmed
	 * away) move to the DLQ; only the rest are returned, with their counts.
	 */
	async sortOutExhausted(entries: ReadEntry[]): Promise<CountedEntry[]> {
		const o = this.options;
		const fresh = entries.filter((e) => !this.isHeld(e.id));
		const counts = await deliveryCounts(this.command, o.stream, o.group, fresh.map((e) => e.id));
		const keep: CountedEntry[] = [];
		const dead: DeadLetter[] = [];
		for (const entry of fresh) {
			const deliveryCount = counts.get(entry.id) ?? 1;
			if (entry.fields === null || deliveryCount > o.maxRetries) {
				dead.push({
					id: entry.id,
					message: entry.fields?.[MESSAGE_FIELD] ?? (entry.fields ? JSON.stringify(entry.fields) : null),
					retryCount: deliveryCount - 1,
					fallbackError: entry.fields === null ? TRIMMED : 'delivery limit reached',
				});
			} else {
				keep.push({ ...entry, deliveryCount });
			}
		}
		await this.move(dead);
		return keep;
	}

	/** Ids a claim found deleted from the stream: dead letters without a message. */
	async moveTrimmed(ids: string[]): Promise<void> {
		await this.move(ids.map((id) => ({ id, message: null, retryCount: 0, fallbackError: TRIMMED })));
	}

	/** Moves to the DLQ; at the DLQ's cap the entries stay pending with a warning, never trimmed. */
	async move(letters: DeadLetter[]): Promise<void> {
		const o = this.options;
		if (letters.length === 0) return;
		try {
			const moved = await moveToDeadLetters(this.command, o, letters);
			this.stats.deadLettered += moved.length;
			await this.metrics.deadLettered(o.stream, letters, moved);
			this.log.warn(`Moved ${moved.length} entr${moved.length === 1 ? 'y' : 'ies'} of ${o.stream} to ${o.dlqStream}`);
			await this.warnNearCap();
		} catch (error) {
			if (!(error instanceof DeadLetterRefused && error.onlyCapped)) throw error;
			this.stats.deadLettered += error.moved.length;
			await this.metrics.deadLettered(o.stream, letters, error.moved);
			this.log.warn(`${error.message}: ${error.refused.length} entries stay pending in ${o.stream} until dead letters are replayed or deleted`);
		}
	}

	/**
	 * From 80% of the Dead-Letter Cap (at most once a minute): at the cap, exhausted entries stop
	 * moving and stay pending, so someone should replay or clear dead letters before that.
	 */
	private async warnNearCap(): Promise<void> {
		const { stream, dlqStream, dlqMaxLen } = this.options;
		if (!dlqMaxLen || Date.now() < this.nextNearCapWarningAt) return;
		const length = await this.command.xlen(dlqStream).catch(() => 0);
		if (!dlqNearCap(length, dlqMaxLen)) return;
		this.nextNearCapWarningAt = Date.now() + NEAR_CAP_WARNING_EVERY_MS;
		this.log.warn(
			`Dead-letter stream ${dlqStream} holds ${length} of its cap of ${dlqMaxLen}: replay or delete dead letters; at the cap, entries out of retries stay pending in ${stream}`,
			{ dlqStream, length, cap: dlqMaxLen, nearCap: true },
		);
	}
}
