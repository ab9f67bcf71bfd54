import type { RawEntry } from '../streamGroup';

/** One entry as the workflow gets it. */
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

/** The log when the caller gives none. */
export const silentLog: ConsumerLog = { warn: () => undefined, debug: () => undefined };

/** An entry as read: own pending re-reads and claims know their delivery count, new reads do not (1). */
export type ReadEntry = RawEntry & { deliveryCount?: number };

/** An entry whose delivery count was looked up. */
export type CountedEntry = RawEntry & { deliveryCount: number };

/** An entry as a batch read it: acks are fenced on the consumer and this delivery count. */
export interface Fence {
	id: string;
	deliveryCount: number;
}

/** The names every group command of this consumer takes. */
export interface ConsumerIds {
	stream: string;
	group: string;
	consumer: string;
}
