import { traceIdOf } from '../../nodes/RedisStreamConsumerTrigger/consumerMetrics';
import { MetricsHook } from '../../nodes/shared/queue/consumer/metricsHook';
import type { ConsumerMetrics } from '../../nodes/shared/queue/consumer';

// Issue 26: the queue wing tells a ConsumerMetrics sink what it decided; the trigger counts it.
function sink() {
	const calls: { retried: unknown[]; deadLettered: unknown[] } = { retried: [], deadLettered: [] };
	const metrics: ConsumerMetrics = {
		retried: async (entries) => void calls.retried.push(entries),
		deadLettered: async (stream, letters) => void calls.deadLettered.push({ stream, letters }),
	};
	return { calls, metrics };
}

const log = () => {
	const warnings: string[] = [];
	return { warnings, log: { warn: (m: string) => void warnings.push(m), debug: () => undefined } };
};

describe('the consumer metrics hook', () => {
	test('reports only entries delivered again, as id + delivery count', async () => {
		const { calls, metrics } = sink();
		const hook = new MetricsHook(metrics, log().log);
		await hook.retried([{ id: '1-0' }, { id: '2-0', deliveryCount: 1 }, { id: '3-0', deliveryCount: 3 }]);
		await hook.retried([{ id: '4-0' }]);
		expect(calls.retried).toEqual([[{ id: '3-0', deliveryCount: 3 }]]);
	});

	test('reports only the letters Redis moved, with their message as stored', async () => {
		const { calls, metrics } = sink();
		const hook = new MetricsHook(metrics, log().log);
		const letter = (id: string, message: string | null) => ({ id, message, retryCount: 2, fallbackError: 'x' });
		await hook.deadLettered('q', [letter('1-0', '{"a":1}'), letter('2-0', null)], ['1-0']);
		await hook.deadLettered('q', [letter('3-0', null)], []);
		expect(calls.deadLettered).toEqual([{ stream: 'q', letters: [{ id: '1-0', message: '{"a":1}' }] }]);
	});

	test('a sink that throws is a warning, never a consumer failure; no sink is no report', async () => {
		const { warnings, log: logger } = log();
		const failing = new MetricsHook({ retried: async () => Promise.reject(new Error('down')), deadLettered: async () => undefined }, logger);
		await expect(failing.retried([{ id: '1-0', deliveryCount: 2 }])).resolves.toBeUndefined();
		expect(warnings).toEqual(['Consumer metrics not recorded: down']);
		await expect(new MetricsHook(undefined, logger).retried([{ id: '1-0', deliveryCount: 2 }])).resolves.toBeUndefined();
	});
});

describe('the trace id a dead letter is counted by', () => {
	test.each([
		['{"traceId":"t-1","leadData":{}}', 't-1'],
		['{"leadData":{"traceId":"t-2"}}', 't-2'],
		['{"traceId":""}', undefined],
		['{"n":1}', undefined],
		['not json with traceId', undefined],
		[null, undefined],
	])('%s -> %s', (message, expected) => {
		expect(traceIdOf(message)).toBe(expected);
	});
});
