import type Redis from 'ioredis';

import { isPaused, pauseKey } from './pause';
import { adviseOnRedisError } from './redisErrors';
import {
	autoClaim,
	deliveryCounts,
	ensureGroup,
	isNoGroupError,
	readGroup,
	removeIdleConsumers,
	renewOwned,
	MIN_CLAIM_TIMEOUT_MS,
	type RawEntry,
} from './streamGroup';
import { acknowledgeOwned, DeadLetterRefused, dlqNearCap, MESSAGE_FIELD, moveToDeadLetters, recordErrors, type DeadLetter } from './streams';

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

/**
 * What the consumer decided, for whoever counts it. The queue wing knows no counters: the node
 * wires a recorder in. A call that throws is a warning, never a consumer failure.
 */
export interface ConsumerMetrics {
	/** Entries read again for another delivery (delivery count > 1); one call per batch read. */
	retried(entries: Array<{ id: string; deliveryCount: number }>): Promise<void>;
	/** Entries moved to the DLQ of `stream`; `message` is the entry's message field, passed through unread. */
	deadLettered(stream: string, letters: Array<{ id: string; message: string | null }>): Promise<void>;
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
	warn(message: string, meta?: object): void;
	debug(message: string, meta?: object): void;
	/** State changes a user looks for (paused / resumed); falls back to warn. */
	info?(message: string, meta?: object): void;
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
function timer(ms: number): { promise: Promise<'timeout'>; clear: () => void; unref: () => void } {
	let handle: NodeJS.Timeout | undefined;
	const promise = new Promise<'timeout'>((resolve) => {
		if (ms > 0) handle = setTimeout(() => resolve('timeout'), ms);
	});
	// unref: a day-long hold must not keep a process (or a test run) alive on its own.
	return { promise, clear: () => clearTimeout(handle), unref: () => void handle?.unref() };
}

const ACK_ATTEMPTS = 5;

/** See ConsumerOptions.releaseAfterMs: a day, far past any healthy execution. */
export const DEFAULT_RELEASE_AFTER_MS = 86_400_000;

export const DEFAULT_IDLE_CONSUMER_MS = 600_000;

/** An entry as a batch read it: acks are fenced on the consumer and this delivery count. */
interface Fence {
	id: string;
	deliveryCount: number;
}

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

	/** Batches past Max Execution Time whose slot was lent to the next batch (at most `concurrency`). */
	private overrun = 0;

	private renewing = false;

	private nextCleanupAt = 0;

	private nextNearCapWarningAt = 0;

	/** Resolves once stopped and nothing is held any more (see stop()). */
	private finished = false;

	private finishing: Promise<void> | undefined;

	private drainedResolve!: () => void;

	readonly drained = new Promise<void>((resolve) => (this.drainedResolve = resolve));

	private claimCursor = '0-0';

	private nextClaimAt = 0;

	private heartbeat: NodeJS.Timeout | undefined;

	private blockingClientId: number | undefined;

	/** The group's pause flag as last read (see pause.ts); checked once per block interval. */
	private pausedNow = false;

	private nextPauseCheckAt = 0;

	private pauseCheckFailing = false;

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
		const heartbeat = this.heartbeatMs;
		if (!(heartbeat >= 100 && heartbeat * 2 <= options.claimTimeoutMs)) {
			throw new RangeError(`Heartbeat interval (${heartbeat} ms) must be from 100 ms to half the claim timeout (${options.claimTimeoutMs} ms)`);
		}
		const release = options.releaseAfterMs ?? DEFAULT_RELEASE_AFTER_MS;
		if (release > 0 && release < (options.maxExecutionMs ?? 0)) {
			throw new RangeError(`Release after (${release} ms) must be 0 or at least Max Execution Time (${options.maxExecutionMs} ms)`);
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
		this.heartbeat = setInterval(() => void this.keepInFlightOurs(), this.heartbeatMs);
		this.loopDone = this.loop();
	}

	/** Three renewals per claim timeout unless set: one late or lost renewal still leaves the entries ours. */
	private get heartbeatMs(): number {
		return this.options.heartbeatMs ?? Math.floor(this.options.claimTimeoutMs / 3);
	}

	/** Whether the consumer is holding off reading because its group is paused. */
	get paused(): boolean {
		return this.pausedNow;
	}

	/** Resolves once the first batch has been handed to the handler. */
	get dispatchedFirstBatch(): Promise<void> {
		return this.firstBatch.promise;
	}

	/**
	 * Stops reading and waits, at most timeoutMs in all, for the loop and the batches in flight
	 * (their acks still happen). Bounded even when Redis is down. Batches still running after it
	 * keep their entries held by the heartbeat until they report back (or Release After): n8n does
	 * not cancel an execution on deactivation, and releasing them would let the next activation (or
	 * another consumer) run them beside it. `holding` says so; close the connections after `drained`.
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
			this.command.off('error', this.onConnectionError);
			this.blocking.off('error', this.onConnectionError);
		}
		if (this.inFlight.size === 0) await this.finish(true);
		else {
			this.log.warn(
				`Stopped with ${this.inFlight.size} batch(es) of ${this.options.stream} still running: their entries stay held until they report back`,
			);
		}
	}

	/** Whether stop() left batches running whose entries the heartbeat still holds. */
	get holding(): boolean {
		return this.stopRequested && !this.finished;
	}

	/** Ends the heartbeat; with Redis usable, deletes this consumer if it holds nothing (its name is never reused). */
	private async finish(redisUsable: boolean): Promise<void> {
		this.finishing ??= this.endHolding(redisUsable);
		await this.finishing;
	}

	private async endHolding(redisUsable: boolean): Promise<void> {
		this.finished = true;
		clearInterval(this.heartbeat);
		if (redisUsable && this.blockingClientId !== undefined) {
			const o = this.options;
			const removal = removeIdleConsumers(this.command, { ...o, keep: o.consumer, minIdleMs: 0, self: o.consumer }).catch(() => undefined);
			const bound = timer(1_000);
			await Promise.race([removal, bound.promise]);
			bound.clear();
		}
		this.drainedResolve();
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
			if (this.slotsFull()) {
				await new Promise<void>((resolve) => (this.slotFreed = resolve));
				continue;
			}
			if (await this.waitWhilePaused()) continue;
			await this.removeIdleConsumers();
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
				if (batch.length) {
					this.dispatch(batch);
					await this.countRetries(batch);
				}
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

	/**
	 * A batch past Max Execution Time lends its slot to the next batch, but at most `concurrency`
	 * batches may be over time at once: so never more than twice Parallel Executions run, even when
	 * executions never report back (lost by n8n).
	 */
	private slotsFull(): boolean {
		const c = this.options.concurrency;
		return this.inFlight.size - this.overrun >= c || this.overrun > c;
	}

	/** Now and then: consumers left by earlier activations (idle, nothing pending) are deleted. */
	private async removeIdleConsumers(): Promise<void> {
		const o = this.options;
		const minIdleMs = o.idleConsumerMs ?? DEFAULT_IDLE_CONSUMER_MS;
		if (minIdleMs <= 0 || Date.now() < this.nextCleanupAt) return;
		this.nextCleanupAt = Date.now() + Math.max(1_000, Math.floor(minIdleMs / 2));
		try {
			const removed = await removeIdleConsumers(this.command, { ...o, keep: o.consumer, minIdleMs });
			if (removed.length) this.log.debug(`Removed ${removed.length} idle consumer(s) of ${o.group} on ${o.stream} with nothing pending`, { removed });
		} catch (error) {
			this.log.debug(`Could not remove idle consumers: ${(error as Error).message}`);
		}
	}

	/**
	 * Reads the pause flag once per block interval. While it is set nothing new is read or claimed
	 * (in-flight batches finish, are acked and keep their heartbeat); returns true after waiting out
	 * the interval (or a stop / a finished batch). A flag Redis cannot read counts as not paused:
	 * the pause switch must never be what stops a pipeline.
	 */
	private async waitWhilePaused(): Promise<boolean> {
		const o = this.options;
		if (Date.now() >= this.nextPauseCheckAt) {
			this.nextPauseCheckAt = Date.now() + o.blockMs;
			let paused = false;
			try {
				paused = await isPaused(this.command, o.stream, o.group);
				this.pauseCheckFailing = false;
			} catch (error) {
				if (!this.pauseCheckFailing) {
					this.log.warn(`Could not read the pause flag ${pauseKey(o.stream, o.group)} (${(error as Error).message}): consuming as not paused`, { paused: false });
				}
				this.pauseCheckFailing = true;
			}
			if (paused !== this.pausedNow) {
				this.pausedNow = paused;
				const inFlight = this.inFlight.size;
				const text = paused
					? `Consuming ${o.stream} (group ${o.group}) paused by ${pauseKey(o.stream, o.group)}: reading nothing new${inFlight ? `, ${inFlight} batch${inFlight === 1 ? '' : 'es'} in flight finish${inFlight === 1 ? 'es' : ''}` : ''}`
					: `Consuming ${o.stream} (group ${o.group}) resumed: the pause flag was cleared`;
				(this.log.info ?? this.log.warn).call(this.log, text, { stream: o.stream, group: o.group, paused });
			}
		}
		if (!this.pausedNow || !this.running) return false;
		const wait = timer(Math.max(1, this.nextPauseCheckAt - Date.now()));
		await Promise.race([wait.promise, new Promise<void>((resolve) => (this.slotFreed = resolve))]);
		wait.clear();
		return true;
	}

	/** Tells the metrics sink, if any; a sink that throws is a warning, never a consumer failure. */
	private async report(call: (metrics: ConsumerMetrics) => Promise<void>): Promise<void> {
		const metrics = this.options.metrics;
		if (!metrics) return;
		try {
			await call(metrics);
		} catch (error) {
			this.log.warn(`Consumer metrics not recorded: ${(error as Error).message}`);
		}
	}

	/** `retries`: an entry back for another delivery, once per entry and delivery count. */
	private async countRetries(batch: Array<{ id: string; deliveryCount?: number }>): Promise<void> {
		const again = batch
			.filter((e): e is { id: string; deliveryCount: number } => (e.deliveryCount ?? 1) > 1)
			.map(({ id, deliveryCount }) => ({ id, deliveryCount }));
		if (again.length) await this.report((metrics) => metrics.retried(again));
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
			await this.countDeadLettered(letters, moved);
			this.log.warn(`Moved ${moved.length} entr${moved.length === 1 ? 'y' : 'ies'} of ${o.stream} to ${o.dlqStream}`);
			await this.warnNearCap();
		} catch (error) {
			if (!(error instanceof DeadLetterRefused && error.onlyCapped)) throw error;
			this.stats.deadLettered += error.moved.length;
			await this.countDeadLettered(letters, error.moved);
			this.log.warn(`${error.message}: ${error.refused.length} entries stay pending in ${o.stream} until dead letters are replayed or deleted`);
		}
	}

	/**
	 * From 80% of the Dead-Letter Cap (at most once a minute): at the cap, exhausted entries stop
	 * moving and stay pending, so someone should replay or clear dead letters before that.
	 */
	private async warnNearCap(): Promise<void> {
		const { dlqStream, dlqMaxLen } = this.options;
		if (!dlqMaxLen || Date.now() < this.nextNearCapWarningAt) return;
		const length = await this.command.xlen(dlqStream).catch(() => 0);
		if (!dlqNearCap(length, dlqMaxLen)) return;
		this.nextNearCapWarningAt = Date.now() + 60_000;
		this.log.warn(
			`Dead-letter stream ${dlqStream} holds ${length} of its cap of ${dlqMaxLen}: replay or delete dead letters; at the cap, entries out of retries stay pending in ${this.options.stream}`,
			{ dlqStream, length, cap: dlqMaxLen, nearCap: true },
		);
	}

	/** `deadLettered{stream}`: the letters Redis really moved. */
	private async countDeadLettered(letters: DeadLetter[], moved: string[]): Promise<void> {
		const ids = new Set(moved);
		const gone = letters.filter((l) => ids.has(l.id)).map((l) => ({ id: l.id, message: l.message }));
		if (gone.length) await this.report((metrics) => metrics.deadLettered(this.options.stream, gone));
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
				if (this.stopRequested && this.inFlight.size === 0) void this.finish(true);
			});
		this.inFlight.add(task);
		this.firstBatch.resolve();
	}

	/** The handler's outcome; past Max Execution Time see holdWhileRunning. */
	private async runHandler(messages: StreamMessage[]): Promise<BatchOutcome> {
		const limit = this.options.maxExecutionMs ?? 0;
		const outcome = this.handler(messages).catch((error): BatchOutcome => ({ status: 'failed', error: (error as Error).message }));
		const deadline = timer(limit);
		try {
			const first = await Promise.race([outcome, deadline.promise]);
			if (first !== 'timeout') return first;
		} finally {
			deadline.clear();
		}
		return await this.holdWhileRunning(outcome, messages.map((m) => m.id), limit);
	}

	/**
	 * Past Max Execution Time the execution may still be running: its entries stay held (the
	 * heartbeat renews them) so no claimer runs the batch beside it, and its slot goes to the next
	 * batch. A late outcome is applied as usual (acks fenced on ownership). Only after Release After
	 * — presumed lost — are the entries given up for retry, outcome unknown.
	 */
	private async holdWhileRunning(outcome: Promise<BatchOutcome>, ids: string[], limit: number): Promise<BatchOutcome> {
		const o = this.options;
		const releaseAfter = o.releaseAfterMs ?? DEFAULT_RELEASE_AFTER_MS;
		const overTime = `no result within Max Execution Time (${limit} ms)`;
		if (releaseAfter <= limit) return { status: 'unknown', reason: `${overTime}: outcome unknown, left pending for retry` };
		this.overrun++;
		this.slotFreed?.();
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
			this.overrun--;
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
		const fences = messages.map((m) => ({ id: m.id, deliveryCount: m.deliveryCount }));
		if (o.ackMode === 'immediately') await this.ack(fences);

		const outcome = await this.runHandler(messages);
		if (outcome.status !== 'success') this.stats.failedBatches++;
		if (o.ackMode === 'immediately') return;
		const handedOver = outcome.status === 'waiting' && (o.waitingMode ?? 'acknowledge') === 'acknowledge';
		if (outcome.status === 'success' || handedOver || (o.ackMode === 'executionFinishes' && outcome.status === 'failed')) {
			await this.ack(fences);
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
	 * Fenced: only entries still ours in the delivery this batch read are acked; ones another
	 * consumer took over meanwhile are theirs to finish (reported, never acked from here).
	 */
	private async ack(fences: Fence[]): Promise<void> {
		const o = this.options;
		const ids = fences.map((f) => f.id);
		for (let attempt = 1; ; attempt++) {
			try {
				const { acked, takenOver } = await acknowledgeOwned(this.command, this.ids(), fences);
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
					this.log.warn(`Acknowledging ${ids.length} entries on ${o.stream} failed ${attempt} times, they stay pending: ${message}`);
					return;
				}
				this.log.debug(`Acknowledging on ${o.stream} failed (attempt ${attempt}), retrying: ${message}`);
				await sleep(100 * 2 ** attempt);
			}
		}
	}

	/**
	 * Renews the in-flight entries. After stop() a renewal that fails or does not answer within a
	 * heartbeat means Redis is gone: holding ends and the caller may close the connections.
	 */
	private async keepInFlightOurs(): Promise<void> {
		if (this.renewing) {
			if (this.stopRequested) void this.finish(false);
			return;
		}
		const ids = [...this.inFlightIds];
		if (ids.length === 0) return;
		this.renewing = true;
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
			if (this.stopRequested) void this.finish(false);
		} finally {
			this.renewing = false;
		}
	}
}
