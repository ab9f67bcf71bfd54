// Where dead letters live, for whoever lists them (Get Queue Info, the dashboard): every DLQ the
// pack writes has the DeadLetterFields shape (deadLetter.ts), so any of them can be listed and replayed.

/** `DLQ<Queue><Group>`: the DLQ a consumer trigger writes by default (the existing lead backend's naming). */
export function dlqStreamName(stream: string, group: string): string {
	const pascal = (name: string) =>
		name
			.split(/[^A-Za-z0-9]+/)
			.filter(Boolean)
			.map((part) => part[0].toUpperCase() + part.slice(1))
			.join('');
	return `DLQ${pascal(stream)}${pascal(group)}`;
}

/**
 * The DLQs the workflow templates' "Dead-letter…" nodes write (Redis Stream → Add Dead Letter),
 * beside the consumers' own DLQs: the item a workflow step gave up on, with the queue it came from.
 */
export const TEMPLATE_DEAD_LETTER_STREAMS = [
	{ dlqStream: 'DLQFilterQueueItems', originalQueue: 'filterQueue', workflow: 'filter-queue.json' },
	{ dlqStream: 'DLQCrmSync', originalQueue: 'syncQueue', workflow: 'crm-sync.json' },
	{ dlqStream: 'DLQOutreach', originalQueue: 'outreachQueue', workflow: 'outreach.json' },
] as const;

/** Default cap of a dead-letter stream (Dead-Letter Cap on the consumer and on Add Dead Letter). */
export const DEFAULT_DLQ_CAP = 100_000;

/** Share of its cap from which a DLQ warns: early enough to replay or clear it before it refuses. */
export const DLQ_WARN_RATIO = 0.8;

export function dlqNearCap(length: number, cap: number | undefined): boolean {
	return Boolean(cap && cap > 0 && length >= Math.floor(cap * DLQ_WARN_RATIO));
}
