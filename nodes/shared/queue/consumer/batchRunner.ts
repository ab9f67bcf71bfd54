import type Redis from 'ioredis';

import { MESSAGE_FIELD, recordErrors } from '../streams';
import type { LockKeeper } from './lockKeeper';
import type { ConsumerOptions } from './options';
import type { SlotLender } from './slots';
import { timer } from './timers';
import type { BatchHandler, BatchOutcome, ConsumerLog, ConsumerStats, ReadEntry, StreamMessage } from './types';

/**
 * Runs one batch: parses its entries, hands them to the handler (the workflow execution) and
 * applies the outcome per the ack mode: acknowledged (fenced), or left pending with the reason
 * recorded so they are retried after the claim timeout.
 */
export class BatchRunner {
	constructor(
		private readonly command: Redis,
		private readonly options: ConsumerOptions,
		private readonly handler: BatchHandler,
		private readonly stats: ConsumerStats,
		private readonly log: ConsumerLog,
		private readonly locks: LockKeeper,
		private readonly slots: SlotLender,
	) {}

	/** Holds the entries (heartbeat) from now until the outcome is applied; never rejects. */
	async run(entries: ReadEntry[]): Promise<void> {
		const ids = entries.map((e) => e.id);
		this.locks.hold(ids);
		try {
			await this.apply(entries);
		} catch (error) {
			this.log.warn(`Batch on ${this.options.stream} failed to settle: ${(error as Error).message}`);
		} finally {
			this.locks.release(ids);
		}
	}

	private async apply(entries: ReadEntry[]): Promise<void> {
		const o = this.options;
		const { messages, invalid } = this.parse(entries);
		// Unparseable entries stay pending with the reason recorded: after their retries the claimer
		// moves them to the DLQ, so a poison message never blocks the ones behind it.
		await recordErrors(this.command, o.stream, o.group, invalid);
		this.locks.release(invalid.map((e) => e.id));
		if (messages.length === 0) return;
		const ids = messages.map((m) => m.id);
		const fences = messages.map((m) => ({ id: m.id, deliveryCount: m.deliveryCount }));
		if (o.ackMode === 'immediately') await this.locks.ack(fences);

		const outcome = await this.runHandler(messages);
		if (outcome.status !== 'success') this.stats.failedBatches++;
		if (o.ackMode === 'immediately') return;
		const handedOver = outcome.status === 'waiting' && (o.waitingMode ?? 'acknowledge') === 'acknowledge';
		if (outcome.status === 'success' || handedOver || (o.ackMode === 'executionFinishes' && outcome.status === 'failed')) {
			await this.locks.ack(fences);
			return;
		}
		// Not acknowledged: stop renewing, so the entries are retried after the claim timeout.
		this.locks.release(ids);
		await recordErrors(this.command, o.stream, o.group, ids.map((id) => ({ id, error: reasonLeftPending(outcome) })));
	}

	/** The message field as JSON (when Parse JSON is on), else the entry's fields as they are. */
	private parse(entries: ReadEntry[]) {
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

	/** The handler's outcome; past Max Execution Time see LockKeeper.holdPastMaxExecution. */
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
		return await this.locks.holdPastMaxExecution(outcome, messages.map((m) => m.id), limit, this.slots);
	}
}

/** Why entries of a batch that was not acknowledged stay pending (recorded for the dead letter). */
function reasonLeftPending(outcome: BatchOutcome): string {
	if (outcome.status === 'failed') return outcome.error;
	if (outcome.status === 'waiting') return 'the execution is waiting (Wait node) and "Executions That Wait" leaves its entries pending';
	return (outcome.status === 'unknown' ? outcome.reason : undefined) ?? 'the execution did not report back';
}
