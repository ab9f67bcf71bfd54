import { randomBytes } from 'node:crypto';

import type Redis from 'ioredis';

import { setPaused } from '../../nodes/shared/queue/pause';
import { dlqStreamName } from '../../nodes/shared/queue/streamGroup';
import { breakMetrics, countsToday } from '../support/metrics';
import { deletePrefix, redisCredential, testRedis, uniquePrefix } from '../support/redis';
import { addJson, eventually, pendingCount, readMessages } from '../support/streams';
import { activateTrigger, outputOf, runTriggerManually, type ActiveTrigger } from '../../scripts/engine-harness/run-workflow';
import { consumerWorkflow, type ConsumerWorkflowOptions } from './workflows/consumer-workflow';

// The consumer core counts retries and dead letters, and honours the pause flag (issue 15).
const prefix = uniquePrefix('metrics-consumer');
let redis: Redis;
const active: ActiveTrigger[] = [];
let ns = '';
let n = 0;

beforeAll(() => {
	redis = testRedis();
});
beforeEach(() => {
	ns = `${prefix}ns${++n}`;
});
afterEach(async () => {
	await Promise.all(active.splice(0).map(async (t) => await t.close()));
});
afterAll(async () => {
	await deletePrefix(redis, prefix);
	redis.disconnect();
});

function names(test: string) {
	return { stream: `${prefix}${test}:queue`, group: 'processor', processed: `${prefix}${test}:processed`, gate: `${prefix}${test}:gate` };
}

async function activate(o: ConsumerWorkflowOptions): Promise<ActiveTrigger> {
	const trigger = await activateTrigger(consumerWorkflow(o), { credentials: { leadPipelineRedis: { ...redisCredential(), namespace: ns } } });
	active.push(trigger);
	return trigger;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('the consumer counts retries and deadLettered{stream}', () => {
	test('each redelivery once (entry id + delivery count), the dead letter once by the lead traceId', async () => {
		const t = names('retries');
		await redis.set(t.gate, 'not a stream');
		await addJson(redis, t.stream, [{ traceId: 'lead-1', fail: true }]);
		await activate({ ...t, options: { maxRetries: 3, claimTimeoutMs: 3_000 } });
		await eventually(async () => (await redis.xlen(dlqStreamName(t.stream, t.group))) === 1, 25_000, 'dead letter');
		await eventually(async () => (await countsToday(redis, ns))[`deadLettered|${encodeURIComponent(t.stream)}`] === 1, 3_000, 'count');
		// Deliveries 2 and 3 were retries; the 4th read moved it to the DLQ.
		expect(await countsToday(redis, ns)).toEqual({ retries: 2, [`deadLettered|${encodeURIComponent(t.stream)}`]: 1 });
	}, 40_000);

	test('a refused metrics write never stops the consumer: the entry is still dead-lettered and the next one processed', async () => {
		const t = names('broken');
		await breakMetrics(redis, ns);
		await redis.set(t.gate, 'not a stream');
		await addJson(redis, t.stream, [{ traceId: 'lead-2', fail: true }, { n: 1 }]);
		const trigger = await activate({ ...t, batchSize: 1, options: { maxRetries: 2, claimTimeoutMs: 3_000 } });
		await eventually(async () => (await redis.xlen(dlqStreamName(t.stream, t.group))) === 1, 25_000, 'dead letter');
		await eventually(async () => (await pendingCount(redis, t.stream, t.group)) === 0, 5_000, 'acks');
		expect((await readMessages<{ message: unknown }>(redis, t.processed)).map((p) => p.message)).toEqual([{ n: 1 }]);
		expect(trigger.errors).toEqual([]);
		expect(trigger.logs.some((l) => /Lead metrics not recorded: WRONGTYPE/.test(l))).toBe(true);
	}, 40_000);
});

describe('pause / resume', () => {
	test('a running consumer stops starting executions within one block interval + one batch, finishes and acks what it holds, and drains everything once resumed', async () => {
		const t = names('pause');
		const blockMs = 300;
		const sleepMs = 150;
		const first = await addJson(redis, t.stream, Array.from({ length: 60 }, (_, i) => ({ n: i })));
		const trigger = await activate({ ...t, batchSize: 5, sleepMs, options: { blockMs } });
		await trigger.waitForRuns(1);

		await setPaused(redis, t.stream, t.group, true, 'test');
		await sleep(blockMs + sleepMs + 300);
		const runsWhenPaused = trigger.runs.length;
		expect(runsWhenPaused).toBeLessThan(12);
		await sleep(1_000);
		expect(trigger.runs.length).toBe(runsWhenPaused);
		// In flight finished and acked: nothing pending while paused.
		expect(await pendingCount(redis, t.stream, t.group)).toBe(0);
		expect(trigger.logs.filter((l) => /paused by/.test(l))).toEqual([expect.stringMatching(/"paused":true/)]);

		const more = await addJson(redis, t.stream, Array.from({ length: 10 }, (_, i) => ({ n: 100 + i })));
		await sleep(blockMs * 2);
		expect(trigger.runs.length).toBe(runsWhenPaused);

		await setPaused(redis, t.stream, t.group, false);
		await eventually(async () => (await redis.xlen(t.processed)) === 70, 20_000, 'drain after resume');
		await eventually(async () => (await pendingCount(redis, t.stream, t.group)) === 0, 5_000, 'acks');
		const processed = (await readMessages<{ id: string; deliveryCount: number }>(redis, t.processed)).map((p) => p.id);
		expect(processed).toEqual([...first, ...more]);
		expect(new Set(processed).size).toBe(70);
		expect(trigger.logs.filter((l) => /resumed/.test(l))).toEqual([expect.stringMatching(/"paused":false/)]);
		expect(trigger.errors).toEqual([]);
	}, 40_000);

	test('a consumer started while paused reads nothing until resumed', async () => {
		const t = names('startPaused');
		await setPaused(redis, t.stream, t.group, true, 'test');
		await addJson(redis, t.stream, [{ n: 1 }, { n: 2 }]);
		const trigger = await activate({ ...t, options: { blockMs: 200 } });
		await sleep(800);
		expect(trigger.runs).toHaveLength(0);
		await setPaused(redis, t.stream, t.group, false);
		await trigger.waitForRuns(1, 5_000);
		expect((await readMessages(redis, t.processed)).length).toBe(2);
	});

	test('a pause flag Redis refuses to read counts as not paused: consumption goes on, with one warning', async () => {
		const user = `lp-test-${randomBytes(4).toString('hex')}`;
		const password = randomBytes(12).toString('hex');
		await redis.call('ACL', 'SETUSER', user, 'on', `>${password}`, '~*', '&*', '+@all', '-exists');
		try {
			const t = names('flagRefused');
			await addJson(redis, t.stream, [{ n: 1 }, { n: 2 }, { n: 3 }]);
			const trigger = await activateTrigger(consumerWorkflow({ ...t, batchSize: 1, options: { blockMs: 100 } }), {
				credentials: { leadPipelineRedis: { ...redisCredential(), namespace: ns, username: user, password } },
			});
			active.push(trigger);
			await trigger.waitForRuns(3, 10_000);
			expect(trigger.errors).toEqual([]);
			expect(trigger.logs.filter((l) => /Could not read the pause flag/.test(l))).toEqual([expect.stringMatching(/NOPERM.*consuming as not paused/)]);
			await eventually(async () => (await pendingCount(redis, t.stream, t.group)) === 0, 5_000, 'acks');
		} finally {
			await Promise.all(active.splice(0).map(async (t) => await t.close()));
			await redis.call('ACL', 'DELUSER', user);
		}
	});

	test("the editor's Listen on a paused group shows paused: true on the items it peeks, and counts nothing", async () => {
		const t = names('listenPaused');
		const ids = await addJson(redis, t.stream, [{ n: 1 }]);
		const workflow = consumerWorkflow(t);
		const credentials = { leadPipelineRedis: { ...redisCredential(), namespace: ns } };
		const before = await runTriggerManually(workflow, { credentials, stepOnly: true });
		expect(outputOf(before, 'Consume')[0]).not.toHaveProperty('paused');
		await setPaused(redis, t.stream, t.group, true, 'test');
		const during = await runTriggerManually(workflow, { credentials, stepOnly: true });
		expect(outputOf(during, 'Consume')).toEqual([expect.objectContaining({ id: ids[0], testRun: true, paused: true })]);
		expect(await countsToday(redis, ns)).toEqual({});
	});
});
