import type Redis from 'ioredis';

import { deletePrefix, redisCredential, testRedis, uniquePrefix } from '../support/redis';
import { addJson } from '../support/streams';
import { outputOf, runTriggerManually } from '../../scripts/engine-harness/run-workflow';
import { consumerWorkflow } from './workflows/consumer-workflow';

// Issue 8 §2: the editor's Listen / Execute step on the consumer trigger must leave the production
// group exactly as it was, even with a batch of the active workflow pending for another consumer.
const prefix = uniquePrefix('consumer-manual');
const credentials = { leadPipelineRedis: redisCredential() };
let redis: Redis;

beforeAll(() => {
	redis = testRedis();
});
afterAll(async () => {
	await deletePrefix(redis, prefix);
	redis.disconnect();
});

/** Everything a consumer group is: its XINFO, its consumers (minus idle times) and every pending entry. */
async function groupState(stream: string, group: string) {
	const groups = ((await redis.call('XINFO', 'GROUPS', stream)) as unknown[][]).map((g) => g.map(String));
	const consumers = ((await redis.call('XINFO', 'CONSUMERS', stream, group)) as unknown[][]).map((c) => [c[1], c[3]]);
	const pending = ((await redis.xpending(stream, group, '-', '+', 1000)) as Array<[string, string, number, number]>).map(
		([id, consumer, , deliveries]) => [id, consumer, deliveries],
	);
	return { groups, consumers, pending, length: await redis.xlen(stream) };
}

const numbered = (count: number) => Array.from({ length: count }, (_, n) => ({ n }));

describe('consumer trigger test runs (manual mode) only peek', () => {
	for (const stepOnly of [true, false]) {
		test(`${stepOnly ? 'Execute step' : 'Listen (whole workflow)'}: group state identical before and after, items marked testRun`, async () => {
			const n = { stream: `${prefix}${stepOnly}:queue`, group: 'processor', processed: `${prefix}${stepOnly}:processed` };
			const ids = await addJson(redis, n.stream, numbered(8));
			await redis.xgroup('CREATE', n.stream, n.group, '0');
			// The active workflow's consumer has 3 entries in flight; 5 are not yet delivered.
			await redis.xreadgroup('GROUP', n.group, 'production-host-1', 'COUNT', 3, 'STREAMS', n.stream, '>');
			const before = await groupState(n.stream, n.group);

			const workflow = consumerWorkflow({ ...n, batchSize: 2, options: { consumer: 'production-host-1' } });
			const run = await runTriggerManually(workflow, { credentials, stepOnly });

			expect(run.data.resultData.error).toBeUndefined();
			expect(outputOf(run, 'Consume')).toEqual([
				{ id: ids[3], stream: n.stream, deliveryCount: 0, message: { n: 3 }, testRun: true },
				{ id: ids[4], stream: n.stream, deliveryCount: 0, message: { n: 4 }, testRun: true },
			]);
			await new Promise((r) => setTimeout(r, 200));
			expect(await groupState(n.stream, n.group)).toEqual(before);
			if (stepOnly) expect(run.data.resultData.runData.Record).toBeUndefined();
			else {
				// The Record step (Redis Stream Add) of a manual run writes beside production too.
				expect(await redis.exists(n.processed)).toBe(0);
				expect(await redis.xlen(`${n.processed}:test`)).toBe(2);
			}
		});
	}

	test('a group that does not exist yet is not created by a test run', async () => {
		const n = { stream: `${prefix}nogroup:queue`, group: 'processor', processed: `${prefix}nogroup:processed` };
		await addJson(redis, n.stream, numbered(3));
		const run = await runTriggerManually(consumerWorkflow({ ...n, batchSize: 10 }), { credentials, stepOnly: true });
		expect(outputOf(run, 'Consume').map((item) => item.message)).toEqual(numbered(3));
		expect(await redis.call('XINFO', 'GROUPS', n.stream)).toEqual([]);
	});

	test('an empty stream: the test run waits for the next entry and shows it', async () => {
		const n = { stream: `${prefix}empty:queue`, group: 'processor', processed: `${prefix}empty:processed` };
		await redis.xgroup('CREATE', n.stream, n.group, '$', 'MKSTREAM');
		const before = await groupState(n.stream, n.group);
		const running = runTriggerManually(consumerWorkflow({ ...n }), { credentials, stepOnly: true });
		await new Promise((r) => setTimeout(r, 400));
		const [id] = await addJson(redis, n.stream, [{ n: 42 }]);
		const run = await running;
		expect(outputOf(run, 'Consume')).toEqual([{ id, stream: n.stream, deliveryCount: 0, message: { n: 42 }, testRun: true }]);
		// Only the lag moved (one entry more); nothing was delivered, no consumer registered.
		const after = await groupState(n.stream, n.group);
		expect({ ...after, groups: undefined, length: undefined }).toEqual({ ...before, groups: undefined, length: undefined });
		const field = (state: typeof before, name: string) => state.groups[0][state.groups[0].indexOf(name) + 1];
		for (const name of ['last-delivered-id', 'entries-read', 'pending', 'consumers']) expect(field(after, name)).toBe(field(before, name));
	});
});
