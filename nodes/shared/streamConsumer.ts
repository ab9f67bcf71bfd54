import type Redis from 'ioredis';

import {
	autoClaim,
	deliveryCounts,
	ensureGroup,
	isNoGroupError,
	readGroup,
	renewOwned,
	MIN_CLAIM_TIMEOUT_MS,
	type RawEntry,
} from './streamGroup';
import { acknowledge, MESSAGE_FIELD, moveToDeadLetters, recordErrors } from './streams';

export type AckMode = 'executionSucceeds' | 'executionFinishes' | 'immediately';

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
	/** Idle time after which another consumer may take over a pending entry. */
	claimTimeoutMs: number;
	dlqStream: string;
	parseJson: boolean;
	ackMode: AckMode;
	/** Stop reading after this many batches (the editor's "Listen" takes one). */
	maxBatches?: number;
}

export interface StreamMessage {
	id: string;
	stream: string;
	deliveryCount: number;
	message: unknown;
}

/** What became of the execution a batch started. `unknown`: no run data came back. */
export type BatchOutcome = { status: 'success' } | { status: 'failed'; error: string } | { status: 'unknown' };

export type BatchHandler = (messages: StreamMessage[]) => Promise<BatchOutcome>;

export interface ConsumerLog {
	warn(message: string): void;
	debug(message: string): void;
}

export interface ConsumerStats {
	batches: number;
	acked: number;
	failedBatches: number;
	deadLettered: number;
	claimed: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const silent: ConsumerLog = { warn: () => undefined, debug: () => undefined };

/**
 * One consumer of a stream group: a single loop on a dedicated blocking connection that first
 * finishes its own pending entries, then re-drives stale ones from dead consumers, then reads new
 * ones — never holding more than `concurrency` batches, so a backlog waits in Redis, not in memory.
 * Entries are acknowledged only per the ack mode; an entry delivered `maxRetries` times moves to
 * the DLQ stream atomically with its ack. Nothing is dropped.
 */
export class StreamConsumer {
	readonly stats: ConsumerStats = { batches: 0, acked: 0, failedBatches: 0, deadLettered: 0, claimed: 0 };

	private running = false;

	private loopDone: Promise<void> = Promise.resolve();

	private readonly inFlight = new Set<Promise<void>>();

	private readonly inFlightIds = new Set<string>();

	private slotFreed: (() => void) | undefined;

	private claimCursor = '0-0';

	private nextClaimAt = 0;

	private heartbeat: NodeJS.Timeout | undefined;

	private blockingClientId: number | undefined;

	private firstBatch: { promise: Promise<void>; resolve: () => void };

	constructor(
		private readonly command: Redis,
		private readonly blocking: Redis,
		private readonly options: ConsumerOptions,
		private readonly handler: BatchHandler,
		private readonly log: ConsumerLog = silent,
	) {
		if (!(options.claimTimeoutMs >= MIN_CLAIM_TIMEOUT_MS)) {
			throw new RangeError(`Claim timeout must be at least ${MIN_CLAIM_TIMEOUT_MS} ms (got ${options.claimTimeoutMs})`);
		}
		let resolve!: () => void;
		const promise = new Promise<void>((r) => (resolve = r));
		this.firstBatch = { promise, resolve };
	}

	/** Creates the group if needed and starts the loop. */
	async start(): Promise<void> {
		const o = this.options;
		await ensureGroup(this.command, o.stream, o.group, o.startId);
		this.blockingClientId = Number(await this.blocking.client('ID'));
		this.running = true;
		// Three renewals per claim timeout: one late or lost renewal still leaves the entries ours.
		const beat = Math.floor(o.claimTimeoutMs / 3);
		this.heartbeat = setInterval(() => void this.keepInFlightOurs(), beat);
		this.loopDone = this.loop();
	}

	/** Resolves once the first batch has been handed to the handler. */
	get dispatchedFirstBatch(): Promise<void> {
		return this.firstBatch.promise;
	}

	/**
	 * Stops reading, waits up to timeoutMs for batches in flight (their acks still happen), and
	 * returns. Unfinished entries stay pending for this consumer's next start or another's claim.
	 */
	async stop(timeoutMs = 30_000): Promise<void> {
		// Someone waiting for a first batch (the editor's Listen) is released when listening stops.
		this.firstBatch.resolve();
		if (!this.running && this.inFlight.size === 0) return;
		this.running = false;
		this.slotFreed?.();
		if (this.blockingClientId !== undefined) {
			await this.command.client('UNBLOCK', this.blockingClientId).catch(() => undefined);
		}
		await this.loopDone;
		let timer: NodeJS.Timeout | undefined;
		const timeout = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
		await Promise.race([Promise.allSettled([...this.inFlight]), timeout]);
		clearTimeout(timer);
		clearInterval(this.heartbeat);
	}

	private async loop(): Promise<void> {
		const o = this.options;
		let ownPendingCursor: string | undefined = '0';
		let errors = 0;
		while (this.running) {
			if (o.maxBatches !== undefined && this.stats.batches >= o.maxBatches) break;
			if (this.inFlight.size >= o.concurrency) {
				await new Promise<void>((resolve) => (this.slotFreed = resolve));
				continue;
			}
			try {
				let batch: Array<RawEntry & { deliveryCount?: number }> = [];
				if (ownPendingCursor !== undefined) {
					batch = await readGroup(this.command, { ...this.ids(), count: o.batchSize, id: ownPendingCursor });
					ownPendingCursor = batch.length ? batch[batch.length - 1].id : undefined;
					batch = await this.deadLetterExhausted(batch);
				}
				if (batch.length === 0 && Date.now() >= this.nextClaimAt) batch = await this.claimStale();
				if (batch.length === 0) {
					batch = await readGroup(this.blocking, { ...this.ids(), count: o.batchSize, id: '>', blockMs: o.blockMs });
				}
				errors = 0;
				if (batch.length && this.running) this.dispatch(batch);
			} catch (error) {
				if (!this.running) break;
				if (isNoGroupError(error)) {
					// Everything now in the stream arrived after the group was lost: none of it was
					// processed by this group, so the new group starts at the beginning.
					this.log.warn(`Group ${o.group} on ${o.stream} vanished (Redis restarted or stream deleted): recreating it`);
					await ensureGroup(this.command, o.stream, o.group, '0').catch(() => undefined);
					continue;
				}
				errors++;
				this.log.warn(`Reading ${o.stream} failed (${errors} in a row): ${(error as Error).message}`);
				await sleep(Math.min(100 * 2 ** Math.min(errors, 6), 5_000));
			}
		}
	}

	private ids() {
		const { stream, group, consumer } = this.options;
		return { stream, group, consumer };
	}

	/**
	 * Looks up delivery counts of re-read or claimed entries. Entries past Max Retries (or trimmed
	 * away) move to the DLQ; only the rest are returned, with their counts.
	 */
	private async deadLetterExhausted(entries: RawEntry[]): Promise<Array<RawEntry & { deliveryCount: number }>> {
		const o = this.options;
		const fresh = entries.filter((e) => !this.inFlightIds.has(e.id));
		const counts = await deliveryCounts(this.command, o.stream, o.group, fresh.map((e) => e.id));
		const keep: Array<RawEntry & { deliveryCount: number }> = [];
		const dead = [];
		for (const entry of fresh) {
			const deliveryCount = counts.get(entry.id) ?? 1;
			if (entry.fields === null || deliveryCount > o.maxRetries) {
				dead.push({
					id: entry.id,
					message: entry.fields?.[MESSAGE_FIELD] ?? (entry.fields ? JSON.stringify(entry.fields) : null),
					retryCount: deliveryCount - 1,
					fallbackError: entry.fields === null ? 'entry was trimmed from the stream before it was processed' : 'delivery limit reached',
				});
			} else {
				keep.push({ ...entry, deliveryCount });
			}
		}
		if (dead.length) {
			await moveToDeadLetters(this.command, o, dead);
			this.stats.deadLettered += dead.length;
			this.log.warn(`Moved ${dead.length} entr${dead.length === 1 ? 'y' : 'ies'} of ${o.stream} to ${o.dlqStream}`);
		}
		return keep;
	}

	/** XAUTOCLAIM entries idle longer than the claim timeout (dead or stuck consumers). */
	private async claimStale(): Promise<Array<RawEntry & { deliveryCount: number }>> {
		const o = this.options;
		const claim = await autoClaim(this.command, {
			...this.ids(),
			minIdleMs: o.claimTimeoutMs,
			cursor: this.claimCursor,
			count: o.batchSize,
		});
		this.claimCursor = claim.cursor;
		if (claim.cursor === '0-0') this.nextClaimAt = Date.now() + Math.max(100, Math.floor(o.claimTimeoutMs / 2));
		if (claim.deletedIds.length) {
			await moveToDeadLetters(
				this.command,
				o,
				claim.deletedIds.map((id) => ({
					id,
					message: null,
					retryCount: 0,
					fallbackError: 'entry was trimmed from the stream before it was processed',
				})),
			);
			this.stats.deadLettered += claim.deletedIds.length;
		}
		const entries = await this.deadLetterExhausted(claim.entries);
		this.stats.claimed += entries.length;
		return entries;
	}

	private parse(entries: Array<RawEntry & { deliveryCount?: number }>) {
		const o = this.options;
		const messages: StreamMessage[] = [];
		const invalid: Array<{ id: string; error: string }> = [];
		for (const entry of entries) {
			const fields = entry.fields ?? {};
			let message: unknown = fields;
			if (o.parseJson && MESSAGE_FIELD in fields) {
				try {
					message = JSON.parse(fields[MESSAGE_FIELD]);
				} catch (error) {
					invalid.push({ id: entry.id, error: `message is not valid JSON: ${(error as Error).message}` });
					continue;
				}
			}
			messages.push({ id: entry.id, stream: o.stream, deliveryCount: entry.deliveryCount ?? 1, message });
		}
		return { messages, invalid };
	}

	private dispatch(entries: Array<RawEntry & { deliveryCount?: number }>): void {
		this.stats.batches++;
		for (const entry of entries) this.inFlightIds.add(entry.id);
		const task = this.process(entries)
			.catch((error) => this.log.warn(`Batch on ${this.options.stream} failed to settle: ${(error as Error).message}`))
			.finally(() => {
				for (const entry of entries) this.inFlightIds.delete(entry.id);
				this.inFlight.delete(task);
				this.slotFreed?.();
			});
		this.inFlight.add(task);
		this.firstBatch.resolve();
	}

	private async process(entries: Array<RawEntry & { deliveryCount?: number }>): Promise<void> {
		const o = this.options;
		const { messages, invalid } = this.parse(entries);
		// Unparseable entries stay pending with the reason recorded: after their retries the claimer
		// moves them to the DLQ, so a poison message never blocks the ones behind it.
		await recordErrors(this.command, o.stream, o.group, invalid);
		if (messages.length === 0) return;
		const ids = messages.map((m) => m.id);
		if (o.ackMode === 'immediately') await this.ack(ids);

		let outcome: BatchOutcome;
		try {
			outcome = await this.handler(messages);
		} catch (error) {
			outcome = { status: 'failed', error: (error as Error).message };
		}
		if (outcome.status !== 'success') this.stats.failedBatches++;
		if (o.ackMode === 'immediately') return;
		if (outcome.status === 'success' || (o.ackMode === 'executionFinishes' && outcome.status === 'failed')) {
			await this.ack(ids);
			return;
		}
		const reason = outcome.status === 'failed' ? outcome.error : 'the execution did not report back';
		await recordErrors(this.command, o.stream, o.group, ids.map((id) => ({ id, error: reason })));
	}

	private async ack(ids: string[]): Promise<void> {
		const o = this.options;
		try {
			this.stats.acked += await acknowledge(this.command, o.stream, o.group, ids);
		} catch (error) {
			// The group may have been recreated meanwhile; the entries were redelivered or are gone.
			this.log.warn(`Acknowledging on ${o.stream} failed: ${(error as Error).message}`);
		}
	}

	private async keepInFlightOurs(): Promise<void> {
		const ids = [...this.inFlightIds];
		if (ids.length === 0) return;
		try {
			const lost = await renewOwned(this.command, this.ids(), ids);
			for (const id of lost) this.inFlightIds.delete(id);
			if (lost.length) {
				this.log.warn(
					`${lost.length} in-flight entr${lost.length === 1 ? 'y' : 'ies'} of ${this.options.stream} are no longer ours (claimed by another consumer after a stall?): no longer renewed`,
				);
			}
		} catch (error) {
			this.log.debug(`Could not renew pending entries: ${(error as Error).message}`);
		}
	}
}
