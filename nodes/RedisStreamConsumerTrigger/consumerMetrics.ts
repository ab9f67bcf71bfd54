import type Redis from 'ioredis';

import type { MetricsScope } from '../common/metricsOptions';
import { COUNTER, recordDecisions, type DecisionEvent } from '../shared/metrics';
import type { ConsumerLog, ConsumerMetrics } from '../shared/queue';

/**
 * The traceId of a queued lead message (`{ traceId, leadData }` as JSON), if it has one. Read here,
 * not in the queue wing: the consumer passes messages through without knowing they are leads.
 */
export function traceIdOf(message: string | null): string | undefined {
	if (!message || !message.includes('traceId')) return undefined;
	try {
		const parsed = JSON.parse(message) as { traceId?: unknown; leadData?: { traceId?: unknown } };
		const traceId = parsed?.traceId ?? parsed?.leadData?.traceId;
		return typeof traceId === 'string' && traceId ? traceId : undefined;
	} catch {
		return undefined;
	}
}

/**
 * The consumer's decisions as the metrics wing's counters, in the Pipeline Settings' namespace:
 * `retries` keyed by entry id + delivery count (each redelivery once), `deadLettered{stream}` keyed
 * by the lead's traceId when the message has one (a replayed lead dead-lettered again is one lead).
 * Undefined scope (editor runs, Record Metrics off) = nothing counted. A refused write is a warning.
 */
export function consumerMetrics(redis: Redis, scope: MetricsScope | undefined, log: ConsumerLog): ConsumerMetrics | undefined {
	if (!scope) return undefined;
	const count = async (events: DecisionEvent[]): Promise<void> => {
		if (events.length === 0) return;
		const result = await recordDecisions(redis, scope, events);
		if (!result.ok) log.warn(`Lead metrics not recorded: ${result.error}`);
	};
	return {
		retried: async (entries) => await count(entries.map((e) => ({ traceId: `${e.id}:${e.deliveryCount}`, counter: COUNTER.retries }))),
		deadLettered: async (stream, letters) =>
			await count(letters.map((l) => ({ traceId: traceIdOf(l.message) ?? l.id, counter: COUNTER.deadLettered, labels: { stream } }))),
	};
}
