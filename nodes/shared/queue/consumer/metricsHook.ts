import type { DeadLetter } from '../streams';
import type { ConsumerLog } from './types';

/**
 * What the consumer decided, for whoever counts it. The queue wing knows no counters: the node
 * wires a recorder in (the Redis Stream Consumer Trigger counts `retries` and `deadLettered`).
 */
export interface ConsumerMetrics {
	/** Entries read again for another delivery (delivery count > 1); one call per batch read. */
	retried(entries: Array<{ id: string; deliveryCount: number }>): Promise<void>;
	/** Entries moved to the DLQ of `stream`; `message` is the entry's message field, passed through unread. */
	deadLettered(stream: string, letters: Array<{ id: string; message: string | null }>): Promise<void>;
}

/**
 * The consumer's side of ConsumerMetrics: picks what to report and never lets the sink fail the
 * consumer (a sink that throws is a warning). Nothing is reported when there is nothing to say.
 */
export class MetricsHook {
	constructor(
		private readonly metrics: ConsumerMetrics | undefined,
		private readonly log: ConsumerLog,
	) {}

	/** A batch just read: the entries back for another delivery, once per entry and delivery count. */
	async retried(batch: Array<{ id: string; deliveryCount?: number }>): Promise<void> {
		const again = batch
			.filter((e): e is { id: string; deliveryCount: number } => (e.deliveryCount ?? 1) > 1)
			.map(({ id, deliveryCount }) => ({ id, deliveryCount }));
		if (again.length) await this.report((metrics) => metrics.retried(again));
	}

	/** The letters Redis really moved (`moved` ids) to the DLQ of `stream`. */
	async deadLettered(stream: string, letters: DeadLetter[], moved: string[]): Promise<void> {
		const ids = new Set(moved);
		const gone = letters.filter((l) => ids.has(l.id)).map((l) => ({ id: l.id, message: l.message }));
		if (gone.length) await this.report((metrics) => metrics.deadLettered(stream, gone));
	}

	private async report(call: (metrics: ConsumerMetrics) => Promise<void>): Promise<void> {
		if (!this.metrics) return;
		try {
			await call(this.metrics);
		} catch (error) {
			this.log.warn(`Consumer metrics not recorded: ${(error as Error).message}`);
		}
	}
}
