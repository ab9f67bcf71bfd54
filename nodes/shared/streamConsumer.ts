import type Redis from 'ioredis';

import { adviseOnRedisError } from './redisErrors';
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
import { acknowledge, DeadLetterRefused, MESSAGE_FIELD, moveToDeadLetters, recordErrors, type DeadLetter } from './streams';

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
	dlqStream: string;
	/** Dead letters the DLQ may hold; at the cap entries stay pending instead (0 = no cap). */
	dlqMaxLen?: number;
	parseJson: boolean;
	ackMode: AckMode;
	waitingMode?: WaitingMode;
	/** How long a batch's execution may take before its outcome counts as unknown (0 = no limit). */
	maxExecutionMs?: number;
	/** Read failures in a row after which the consumer gives up and reports (default 10). */
	maxConsecutiveFailures?: number;
}

export interface StreamMessage {
	id: string;
	stream: string;
	deliveryCount: number;
	message: unknown;
}

/** What became of the execution a batch started. `unknown`: no run data came back. */
export type BatchOutcome =
	| { status: 'success' }
	| { status: 'failed'; error: string }
	| { status: 'waiting' }
	| { status: 'unknown'; reason?: string };

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

/** An error the consumer cannot get past by retrying; it stopped reading. */
export class ConsumerFailure extends Error {
	constructor(
		message: string,
		readonly description: string,
		readonly cause?: unknown,
	) {
		super(message);
		this.name = 'ConsumerFailure';
	}
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const silent: ConsumerLog = { warn: () => undefined, debug: () => undefined };

/** Resolves after ms (or never when ms is not positive); clear() releases the timer. */
function timer(ms: number): { promise: Promise<'timeout'>; clear: () => void } {
	let handle: NodeJS.Timeout | undefined;
	const promise = new Promise<'timeout'>((resolve) => {
		if (ms > 0) handle = setTimeout(() => resolve('timeout'), ms);
	});
	return { promise, clear: () => clearTimeout(handle) };
}

const ACK_ATTEMPTS = 5;

/**
 * One consumer of a stream group: a single loop on a dedicated blocking connection that first
 * finishes its own pending entries, then re-drives stale ones from dead consumers, then reads new
 * ones — never holding more than `concurrency` batches, so a backlog waits in Redis, not in memory.
 * Entries are acknowledged only per the ack mode; an entry delivered `maxRetries` times moves to
 * the DLQ stream atomically with its ack. Nothing is dropped. Errors that retrying cannot clear
 * (and too many failures in a row) stop the loop and go to `onFailure`.
 */
export class StreamConsumer {
	readonly stats: ConsumerStats = { batches: 0, acked: 0, failedBatches: 0, deadLettered: 0, claimed: 0 };

	private running = false;

	/** Set once stop() is called; nothing starts or reads after it. */
	private stopRequested = false;

	private loopDone: Promise<void> = Promise.resolve();

	private readonly inFlight = new Set<Promise<void>>();

	/** Ids of batches running now; the heartbeat renews these while they are still ours. */
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
		private readonly onFailure: (failure: ConsumerFailure) => void = () => undefined,
	) {
		if (!(options.claimTimeoutMs >= MIN_CLAIM_TIMEOUT_MS)) {
			throw new RangeError(`Claim timeout must be at least ${MIN_CLAIM_TIMEOUT_MS} ms (got ${options.claimTimeoutMs})`);
		}
		let resolve!: () => void;
		const promise = new Promise<void>((r) => (resolve = r));
		this.firstBatch = { promise, resolve };
	}

	/** Creates the group if needed and starts the loop; a stop() meanwhile wins and nothing starts. */
	async start(): Promise<void> {
		const o = this.options;
		await ensureGroup(this.command, o.stream, o.group, o.startId);
		const clientId = Number(await this.blocking.client('ID'));
		if (this.stopRequested) return;
		this.blockingClientId = clientId;
		this.running = true;
		// A reconnect that Redis refuses (password changed, user disabled) shows only as an error
		// event: the driver keeps reconnecting and a blocked read would wait forever.
		this.command.on('error', this.onConnectionError);
		this.blocking.on('error', this.onConnectionError);
		// Three renewals per claim timeout: one late or lost renewal still leaves the entries ours.
		this.heartbeat = setInterval(() => void this.keepInFlightOurs(), Math.floor(o.claimTimeoutMs / 3));
		this.loopDone = this.loop();
	}

	/** Resolves once the first batch has been handed to the handler. */
	get dispatchedFirstBatch(): Promise<void> {
		return this.firstBatch.promise;
	}

	/**
	 * Stops reading and waits, at most timeoutMs in all, for the loop and the batches in flight
	 * (their acks still happen). Bounded even when Redis is down: the caller then closes the
	 * connections, which fails whatever still waits on them. Unfinished entries stay pending for
	 * this consumer's next start or another's claim.
	 */
	async stop(timeoutMs = 30_000): Promise<void> {
		this.stopRequested = true;
		this.running = false;
		// Someone waiting for a first batch is released when listening stops.
		this.firstBatch.resolve();
		this.slotFreed?.();
		const deadline = timer(timeoutMs);
		try {
			if (this.blockingClientId !== undefined) {
				const unblock = this.command.client('UNBLOCK', this.blockingClientId).catch(() => undefined);
				await Promise.race([unblock, deadline.promise]);
			}
			await Promise.race([this.loopDone, deadline.promise]);
			await Promise.race([Promise.allSettled([...this.inFlight]), deadline.promise]);
		} finally {
			deadline.clear();
			clearInterval(this.heartbeat);
			this.command.off('error', this.onConnectionError);
			this.blocking.off('error', this.onConnectionError);
		}
	}

	private readonly onConnectionError = (error: unknown): void => {
		if (!this.running) return;
		const advice = adviseOnRedisError(error, this.options);
		if (advice.permanent) {
			this.fail(new ConsumerFailure(`Consuming ${this.options.stream} stopped: ${(error as Error).message}`, advice.description, error));
		}
	};

	private async loop(): Promise<void> {
		const o = this.options;
		let ownPendingCursor: string | undefined = '0';
		let failures = 0;
		while (this.running) {
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
				if (batch.length === 0 && this.running && Date.now() >= this.nextClaimAt) batch = await this.claimStale();
				// Checked in the same tick as the read is sent: no XREADGROUP > after stop().
				if (batch.length === 0 && this.running) {
					batch = await readGroup(this.blocking, { ...this.ids(), count: o.batchSize, id: '>', blockMs: o.blockMs });
				}
				failures = 0;
				// A batch delivered to us is processed even if stop() came meanwhile: stop() waits for it.
				if (batch.length) this.dispatch(batch);
			} catch (error) {
				if (!this.running) break;
				if (isNoGroupError(error)) {
					// Everything now in the stream arrived after the group was lost: none of it was
					// processed by this group, so the new group starts at the beginning.
					this.log.warn(`Group ${o.group} on ${o.stream} vanished (Redis restarted or stream deleted): recreating it`);
					await ensureGroup(this.command, o.stream, o.group, '0').catch(() => undefined);
					continue;
				}
				failures++;
				const message = (error as Error).message;
				const advice = adviseOnRedisError(error, o);
				const limit = o.maxConsecutiveFailures ?? 10;
				if (advice.permanent || failures >= limit) {
					const why = advice.permanent ? message : `${failures} failures in a row, the last: ${message}`;
					this.fail(new ConsumerFailure(`Consuming ${o.stream} stopped: ${why}`, advice.description, error));
					break;
				}
				this.log.warn(`Reading ${o.stream} failed (${failures} in a row): ${message}`);
				await sleep(Math.min(100 * 2 ** Math.min(failures, 6), 5_000));
			}
		}
	}

	private fail(failure: ConsumerFailure): void {
		this.running = false;
		this.log.warn(`${failure.message} (${failure.description})`);
		this.onFailure(failure);
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
		await this.deadLetter(dead);
		return keep;
	}

	/** Moves to the DLQ; at the DLQ's cap the entries stay pending with a warning, never trimmed. */
	private async deadLetter(letters: DeadLetter[]): Promise<void> {
		const o = this.options;
		if (letters.length === 0) return;
		try {
			const moved = await moveToDeadLetters(this.command, o, letters);
			this.stats.deadLettered += moved.length;
			this.log.warn(`Moved ${moved.length} entr${moved.length === 1 ? 'y' : 'ies'} of ${o.stream} to ${o.dlqStream}`);
		} catch (error) {
			if (!(error instanceof DeadLetterRefused && error.onlyCapped)) throw error;
			this.stats.deadLettered += error.moved.length;
			this.log.warn(`${error.message}: ${error.refused.length} entries stay pending in ${o.stream} until dead letters are replayed or deleted`);
		}
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
		if (claim.cursor === '0-0') this.nextClaimAt = Date.now() + Math.floor(o.claimTimeoutMs / 2);
		await this.deadLetter(
			claim.deletedIds.map((id) => ({
				id,
				message: null,
				retryCount: 0,
				fallbackError: 'entry was trimmed from the stream before it was processed',
			})),
		);
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

	/** The handler's outcome, or `unknown` once Max Execution Time has passed without one. */
	private async runHandler(messages: StreamMessage[]): Promise<BatchOutcome> {
		const limit = this.options.maxExecutionMs ?? 0;
		const deadline = timer(limit);
		try {
			const outcome = this.handler(messages).catch((error): BatchOutcome => ({ status: 'failed', error: (error as Error).message }));
			const first = await Promise.race([outcome, deadline.promise]);
			if (first !== 'timeout') return first;
			return { status: 'unknown', reason: `no result within Max Execution Time (${limit} ms): outcome unknown, left pending for retry` };
		} finally {
			deadline.clear();
		}
	}

	private async process(entries: Array<RawEntry & { deliveryCount?: number }>): Promise<void> {
		const o = this.options;
		const { messages, invalid } = this.parse(entries);
		// Unparseable entries stay pending with the reason recorded: after their retries the claimer
		// moves them to the DLQ, so a poison message never blocks the ones behind it.
		await recordErrors(this.command, o.stream, o.group, invalid);
		for (const { id } of invalid) this.inFlightIds.delete(id);
		if (messages.length === 0) return;
		const ids = messages.map((m) => m.id);
		if (o.ackMode === 'immediately') await this.ack(ids);

		const outcome = await this.runHandler(messages);
		if (outcome.status !== 'success') this.stats.failedBatches++;
		if (o.ackMode === 'immediately') return;
		const handedOver = outcome.status === 'waiting' && (o.waitingMode ?? 'acknowledge') === 'acknowledge';
		if (outcome.status === 'success' || handedOver || (o.ackMode === 'executionFinishes' && outcome.status === 'failed')) {
			await this.ack(ids);
			return;
		}
		// Not acknowledged: stop renewing, so the entries are retried after the claim timeout.
		for (const id of ids) this.inFlightIds.delete(id);
		const reason =
			outcome.status === 'failed'
				? outcome.error
				: outcome.status === 'waiting'
					? 'the execution is waiting (Wait node) and "Executions That Wait" leaves its entries pending'
					: (outcome.reason ?? 'the execution did not report back');
		await recordErrors(this.command, o.stream, o.group, ids.map((id) => ({ id, error: reason })));
	}

	/**
	 * XACK, retried with backoff while the heartbeat keeps the ids ours: a lost ack must not let
	 * the batch be claimed and run again. After the last attempt the ids stay pending (at least once).
	 */
	private async ack(ids: string[]): Promise<void> {
		const o = this.options;
		for (let attempt = 1; ; attempt++) {
			try {
				this.stats.acked += await acknowledge(this.command, o.stream, o.group, ids);
				return;
			} catch (error) {
				const message = (error as Error).message;
				if (attempt >= ACK_ATTEMPTS || isNoGroupError(error)) {
					// NOGROUP: the group was recreated meanwhile; the entries were redelivered or are gone.
					this.log.warn(`Acknowledging ${ids.length} entries on ${o.stream} failed ${attempt} times, they stay pending: ${message}`);
					return;
				}
				this.log.debug(`Acknowledging on ${o.stream} failed (attempt ${attempt}), retrying: ${message}`);
				await sleep(100 * 2 ** attempt);
			}
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
