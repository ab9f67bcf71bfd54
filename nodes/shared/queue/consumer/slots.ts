import { timer } from './timers';

/** What a batch past Max Execution Time needs of the slots: lending its slot and taking it back. */
export interface SlotLender {
	lend(): void;
	giveBack(): void;
}

/**
 * The batches in flight, at most `concurrency` at once: a backlog waits in Redis, not in memory.
 * One waiter at a time (the loop) is woken when a slot frees, a slot is lent, or stop() is called.
 */
export class BatchSlots implements SlotLender {
	private readonly running = new Set<Promise<void>>();

	/** Batches past Max Execution Time whose slot was lent to the next batch (at most `concurrency`). */
	private overrun = 0;

	private wakeWaiter: (() => void) | undefined;

	constructor(private readonly concurrency: number) {}

	get count(): number {
		return this.running.size;
	}

	/** Takes a slot until `batch` settles; then wakes the waiter and calls `onSettled`. */
	track(batch: Promise<void>, onSettled: () => void): void {
		const task = batch.finally(() => {
			this.running.delete(task);
			this.wake();
			onSettled();
		});
		this.running.add(task);
	}

	/**
	 * A batch past Max Execution Time lends its slot to the next batch, but at most `concurrency`
	 * batches may be over time at once: so never more than twice Parallel Executions run, even when
	 * executions never report back (lost by n8n).
	 */
	full(): boolean {
		const c = this.concurrency;
		return this.running.size - this.overrun >= c || this.overrun > c;
	}

	lend(): void {
		this.overrun++;
		this.wake();
	}

	giveBack(): void {
		this.overrun--;
	}

	/** Wakes whoever waits in freed() / freedOr(). */
	wake(): void {
		this.wakeWaiter?.();
	}

	/** Resolves at the next wake(). */
	freed(): Promise<void> {
		return new Promise<void>((resolve) => (this.wakeWaiter = resolve));
	}

	/** Resolves at the next wake() or after ms, whichever comes first. */
	async freedOr(ms: number): Promise<void> {
		const wait = timer(ms);
		await Promise.race([wait.promise, this.freed()]);
		wait.clear();
	}

	/** Settles when every batch in flight now has settled. */
	async allSettled(): Promise<void> {
		await Promise.allSettled([...this.running]);
	}
}
