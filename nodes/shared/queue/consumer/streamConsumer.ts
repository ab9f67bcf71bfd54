import type Redis from 'ioredis';

import { ensureGroup, isNoGroupError } from '../streamGroup';
import { BatchRunner } from './batchRunner';
import { DeadLetterMover } from './deadLetterMover';
import { IdleConsumerSweeper } from './idleConsumers';
import { LockKeeper } from './lockKeeper';
import { MetricsHook } from './metricsHook';
import { checkConsumerOptions, heartbeatMsOf, type ConsumerOptions } from './options';
import { PauseWatcher } from './pauseWatcher';
import { judgeConnectionError, judgeReadFailure } from './readFailures';
import { EntryReader } from './reader';
import { BatchSlots } from './slots';
import { deferred, sleep, timer } from './timers';
import { silentLog, type ConsumerFailure, type BatchHandler, type ConsumerLog, type ConsumerStats, type ReadEntry } from './types';

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

	// The parts, one job each (see their files).
	private readonly slots: BatchSlots;
	private readonly locks: LockKeeper;
	private readonly pause: PauseWatcher;
	private readonly metrics: MetricsHook;
	private readonly reader: EntryReader;
	private readonly sweeper: IdleConsumerSweeper;
	private readonly runner: BatchRunner;

	/** Set when holding ends (see finish()). */
	private finished = false;

	private finishing: Promise<void> | undefined;

	private readonly drainedSignal = deferred();

	/** Resolves once stopped and nothing is held any more: the connections may close. */
	readonly drained = this.drainedSignal.promise;

	private blockingClientId: number | undefined;

	private readonly firstBatch = deferred();

	constructor(
		private readonly command: Redis,
		private readonly blocking: Redis,
		private readonly options: ConsumerOptions,
		handler: BatchHandler,
		private readonly log: ConsumerLog = silentLog,
		private readonly onFailure: (failure: ConsumerFailure) => void = () => undefined,
	) {
		checkConsumerOptions(options);
		this.slots = new BatchSlots(options.concurrency);
		// After stop(), a renewal that fails or does not answer within a heartbeat means Redis is
		// gone: holding ends and the caller may close the connections.
		this.locks = new LockKeeper(command, options, log, this.stats, () => {
			if (this.stopRequested) void this.finish(false);
		});
		this.pause = new PauseWatcher(command, options, log);
		this.metrics = new MetricsHook(options.metrics, log);
		const deadLetters = new DeadLetterMover(command, options, log, this.stats, this.metrics, (id) => this.locks.isHeld(id));
		this.reader = new EntryReader(command, blocking, options, log, this.stats, deadLetters);
		this.sweeper = new IdleConsumerSweeper(command, options, log);
		this.runner = new BatchRunner(command, options, handler, this.stats, log, this.locks, this.slots);
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
		this.locks.startHeartbeat(heartbeatMsOf(o));
		this.loopDone = this.loop();
	}

	/** Whether the consumer is holding off reading because its group is paused. */
	get paused(): boolean {
		return this.pause.paused;
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
		this.slots.wake();
		const deadline = timer(timeoutMs);
		try {
			if (this.blockingClientId !== undefined) {
				const unblock = this.command.client('UNBLOCK', this.blockingClientId).catch(() => undefined);
				await Promise.race([unblock, deadline.promise]);
			}
			await Promise.race([this.loopDone, deadline.promise]);
			await Promise.race([this.slots.allSettled(), deadline.promise]);
		} finally {
			deadline.clear();
			this.command.off('error', this.onConnectionError);
			this.blocking.off('error', this.onConnectionError);
		}
		if (this.slots.count === 0) await this.finish(true);
		else {
			this.log.warn(
				`Stopped with ${this.slots.count} batch(es) of ${this.options.stream} still running: their entries stay held until they report back`,
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
		this.locks.stopHeartbeat();
		if (redisUsable && this.blockingClientId !== undefined) await this.sweeper.removeSelf();
		this.drainedSignal.resolve();
	}

	private readonly onConnectionError = (error: unknown): void => {
		if (!this.running) return;
		const failure = judgeConnectionError(error, this.options);
		if (failure) this.fail(failure);
	};

	private async loop(): Promise<void> {
		let failures = 0;
		while (this.running) {
			if (this.slots.full()) {
				await this.slots.freed();
				continue;
			}
			if (await this.pause.holdOff(this.slots, () => this.running)) continue;
			await this.sweeper.sweep();
			try {
				const batch = await this.reader.next(() => this.running);
				failures = 0;
				// A batch delivered to us is processed even if stop() came meanwhile: stop() waits for it.
				if (batch.length) {
					this.dispatch(batch);
					await this.metrics.retried(batch);
				}
			} catch (error) {
				if (!this.running) break;
				if (isNoGroupError(error)) {
					await this.reader.recreateGroup();
					continue;
				}
				const verdict = judgeReadFailure(error, ++failures, this.options);
				if ('failure' in verdict) {
					this.fail(verdict.failure);
					break;
				}
				this.log.warn(verdict.warning);
				await sleep(verdict.backOffMs);
			}
		}
	}

	private fail(failure: ConsumerFailure): void {
		this.running = false;
		this.log.warn(`${failure.message} (${failure.description})`);
		this.onFailure(failure);
	}

	private dispatch(entries: ReadEntry[]): void {
		this.stats.batches++;
		this.slots.track(this.runner.run(entries), () => {
			if (this.stopRequested && this.slots.count === 0) void this.finish(true);
		});
		this.firstBatch.resolve();
	}
}
