import { spawn } from 'node:child_process';
import { join } from 'node:path';

import type Redis from 'ioredis';

import { dlqStreamName } from '../../nodes/shared/queue/streamGroup';
import { deletePrefix, redisCredential, testRedis, uniquePrefix } from '../support/redis';
import { addJson, eventually, pendingCount, readAll, readMessages } from '../support/streams';
import { activateTrigger, type ActiveTrigger } from '../../scripts/engine-harness/run-workflow';
import { consumerWorkflow, type ConsumerWorkflowOptions } from './workflows/consumer-workflow';

const prefix = uniquePrefix('consumer');
const credentials = { leadPipelineRedis: redisCredential() };
let redis: Redis;
const active: ActiveTrigger[] = [];

interface Processed {
	id: string;
	deliveryCount: number;
	message: { n?: number; fail?: boolean };
}

beforeAll(() => {
	redis = testRedis();
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
	const trigger = await activateTrigger(consumerWorkflow(o), { credentials });
	active.push(trigger);
	return trigger;
}

const numbered = (count: number, from = 0) => Array.from({ length: count }, (_, i) => ({ n: from + i }));

describe('Redis Stream Consumer Trigger, through the n8n engine on real Redis', () => {
	test('emits one execution per batch of { id, stream, deliveryCount, message } and acks after success', async () => {
		const n = names('ok');
		const ids = await addJson(redis, n.stream, numbered(25));
		const trigger = await activate({ ...n, batchSize: 10 });
		await trigger.waitForRuns(3);

		expect(trigger.runs.map((run) => run.data.resultData.runData.Consume[0].data!.main[0]!.length)).toEqual([10, 10, 5]);
		const first = trigger.runs[0].data.resultData.runData.Consume[0].data!.main[0]![0].json;
		expect(first).toEqual({ id: ids[0], stream: n.stream, deliveryCount: 1, message: { n: 0 } });
		const processed = await readMessages<Processed>(redis, n.processed);
		expect(processed.map((p) => p.id)).toEqual(ids);
		await eventually(async () => (await pendingCount(redis, n.stream, n.group)) === 0, 5_000, 'acks');
	});

	test('a failed execution leaves its batch pending with the reason; after the claim timeout another consumer finishes it', async () => {
		const n = names('retry');
		await redis.set(n.gate, 'not a stream');
		const [id] = await addJson(redis, n.stream, [{ n: 1, fail: true }]);
		const first = await activate({ ...n, options: { consumer: 'first', claimTimeoutMs: 60_000 } });
		await first.waitForRuns(1);
		expect(first.runs[0].data.resultData.error?.message).toMatch(/refused the entry/);
		await first.close();

		const pending = (await redis.xpending(n.stream, n.group, '-', '+', 10)) as Array<[string, string, number, number]>;
		expect(pending.map(([pid, consumer, , deliveries]) => [pid, consumer, deliveries])).toEqual([[id, expect.stringMatching(/^first-[0-9a-f]{6}$/), 1]]);
		expect(await redis.hget(`${n.stream}:${n.group}:lastError`, id)).toMatch(/WRONGTYPE/);

		await redis.del(n.gate);
		const second = await activate({ ...n, options: { consumer: 'second', claimTimeoutMs: 3_000 } });
		await second.waitForRuns(1);
		expect(await readMessages<Processed>(redis, n.gate)).toEqual([{ id, deliveryCount: 2, message: { n: 1, fail: true } }]);
		await eventually(async () => (await pendingCount(redis, n.stream, n.group)) === 0, 5_000, 'ack');
	});

	test('after Max Retries deliveries the entry moves to the DLQ with its reason, atomically with its ack', async () => {
		const n = names('dlq');
		await redis.set(n.gate, 'not a stream');
		const [bad] = await addJson(redis, n.stream, [{ n: 1, fail: true }]);
		await activate({ ...n, options: { maxRetries: 3, claimTimeoutMs: 3_000 } });
		const dlq = dlqStreamName(n.stream, n.group);
		await eventually(async () => (await redis.xlen(dlq)) === 1, 25_000, 'dead letter');

		const [letter] = await readAll(redis, dlq);
		expect(letter.fields).toEqual({
			message: JSON.stringify({ n: 1, fail: true }),
			originalQueue: n.stream,
			originalId: bad,
			group: n.group,
			failedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
			retryCount: '3',
			lastError: expect.stringMatching(/WRONGTYPE/),
		});
		expect(await pendingCount(redis, n.stream, n.group)).toBe(0);
		expect(await redis.hlen(`${n.stream}:${n.group}:lastError`)).toBe(0);
		await new Promise((r) => setTimeout(r, 600));
		expect(await redis.xlen(dlq)).toBe(1);
	});

	test('a message that is not JSON never stalls the ones behind it and reaches the DLQ with the parse error', async () => {
		const n = names('poison');
		const [poison, good] = await addJson(redis, n.stream, ['{not json', { n: 2 }]);
		await activate({ ...n, options: { maxRetries: 2, claimTimeoutMs: 3_000 } });
		await eventually(async () => (await redis.xlen(n.processed)) === 1, 5_000, 'the good message');
		expect((await readMessages<Processed>(redis, n.processed))[0].id).toBe(good);

		const dlq = dlqStreamName(n.stream, n.group);
		await eventually(async () => (await redis.xlen(dlq)) === 1, 25_000, 'dead letter');
		const [letter] = await readAll(redis, dlq);
		expect(letter.fields).toMatchObject({ originalId: poison, message: '{not json', retryCount: '2' });
		expect(letter.fields.lastError).toMatch(/message is not valid JSON/);
		expect(await pendingCount(redis, n.stream, n.group)).toBe(0);
	});

	test('NOGROUP (stream deleted, Redis restarted empty): the consumer recreates its group and misses nothing', async () => {
		const n = names('nogroup');
		const trigger = await activate({ ...n, options: { startId: '$' } });
		await addJson(redis, n.stream, [{ n: 1 }]);
		await trigger.waitForRuns(1);
		await redis.del(n.stream);
		// Written before the consumer notices the group is gone: a group recreated at "$" would skip it.
		await addJson(redis, n.stream, [{ n: 2 }, { n: 3 }]);
		await eventually(async () => (await redis.xlen(n.processed)) === 3, 15_000, 'both new messages');
		expect((await readMessages<Processed>(redis, n.processed)).map((p) => p.message.n)).toEqual([1, 2, 3]);
	});

	test('deactivating while a batch runs: it finishes and is acknowledged; nothing more is read', async () => {
		const n = names('deactivate');
		await addJson(redis, n.stream, [{ n: 1 }]);
		const trigger = await activate({ ...n, sleepMs: 800 });
		await eventually(async () => (await pendingCount(redis, n.stream, n.group)) === 1, 5_000, 'delivery');
		await trigger.close();
		expect(trigger.runs).toHaveLength(1);
		expect(await pendingCount(redis, n.stream, n.group)).toBe(0);
		await addJson(redis, n.stream, [{ n: 2 }]);
		await new Promise((r) => setTimeout(r, 400));
		expect(await redis.xlen(n.processed)).toBe(1);
		const [group] = (await redis.xinfo('GROUPS', n.stream)) as unknown[][];
		expect(group[group.indexOf('lag') + 1]).toBe(1);
	});

	test('backpressure: never more batches in flight than Parallel Executions; the backlog waits in Redis', async () => {
		const n = names('backpressure');
		await addJson(redis, n.stream, numbered(120));
		const trigger = await activate({ ...n, batchSize: 10, concurrency: 2, sleepMs: 150 });
		let maxPending = 0;
		while (trigger.runs.length < 12) {
			maxPending = Math.max(maxPending, await pendingCount(redis, n.stream, n.group));
			await new Promise((r) => setTimeout(r, 20));
		}
		expect(maxPending).toBeGreaterThan(10);
		expect(maxPending).toBeLessThanOrEqual(20);
		expect(await redis.xlen(n.processed)).toBe(120);
	});

	test('"When the execution finishes" acknowledges failed runs too; "Immediately" acks before the run', async () => {
		const finishes = names('finishes');
		await redis.set(finishes.gate, 'not a stream');
		await addJson(redis, finishes.stream, [{ n: 1, fail: true }]);
		const t1 = await activate({ ...finishes, ackMode: 'executionFinishes' });
		await t1.waitForRuns(1);
		await eventually(async () => (await pendingCount(redis, finishes.stream, finishes.group)) === 0, 5_000, 'ack');

		const immediately = names('immediately');
		await addJson(redis, immediately.stream, [{ n: 1 }]);
		const t2 = await activate({ ...immediately, ackMode: 'immediately', sleepMs: 600 });
		const entriesRead = async () => {
			const [group] = (await redis.xinfo('GROUPS', immediately.stream)) as unknown[][];
			return Number(group[group.indexOf('entries-read') + 1]);
		};
		await eventually(async () => (await entriesRead()) === 1, 5_000, 'delivery');
		await eventually(async () => (await pendingCount(redis, immediately.stream, immediately.group)) === 0, 300, 'ack before the run');
		expect(t2.runs).toHaveLength(0);
		await t2.waitForRuns(1);
	});

	test('two consumers in one group split 10,000 messages; no id is processed twice', async () => {
		const n = names('split');
		const ids = await addJson(redis, n.stream, numbered(10_000));
		const a = await activate({ ...n, batchSize: 100, options: { consumer: 'a', claimTimeoutMs: 30_000 } });
		const b = await activate({ ...n, batchSize: 100, options: { consumer: 'b', claimTimeoutMs: 30_000 } });
		await eventually(async () => (await redis.xlen(n.processed)) >= 10_000, 120_000, '10k processed');
		const processed = await readMessages<Processed>(redis, n.processed);
		expect(processed).toHaveLength(10_000);
		expect(new Set(processed.map((p) => p.id))).toEqual(new Set(ids));
		expect(a.runs.length).toBeGreaterThan(0);
		expect(b.runs.length).toBeGreaterThan(0);
		await eventually(async () => (await pendingCount(redis, n.stream, n.group)) === 0, 5_000, 'acks');
	}, 180_000);

	test('SIGKILL mid-batch: a second consumer claims the killed one\'s entries; every message is processed', async () => {
		const n = names('kill');
		const ids = await addJson(redis, n.stream, numbered(60));
		// Each batch stays in flight for 2 s, so the kill lands inside one even on a loaded machine.
		const workflow: ConsumerWorkflowOptions = { ...n, batchSize: 10, sleepMs: 2_000, options: { consumer: 'doomed', claimTimeoutMs: 3_000 } };
		const child = spawn(process.execPath, ['-r', join(__dirname, '../../scripts/ts-register.js'), join(__dirname, 'fixtures/consumer-worker.ts'), JSON.stringify({ workflow, credentials })], {
			stdio: ['ignore', 'pipe', 'inherit'],
		});
		const exited = new Promise((r) => child.once('exit', r));
		await eventually(async () => (await redis.xlen(n.processed)) >= 10, 30_000, 'the doomed consumer to process a batch');
		await eventually(async () => (await pendingCount(redis, n.stream, n.group)) > 0, 10_000, 'a batch in flight');
		child.kill('SIGKILL');
		await exited;
		const orphaned = await pendingCount(redis, n.stream, n.group);
		expect(orphaned).toBeGreaterThan(0);

		await activate({ ...n, batchSize: 10, options: { consumer: 'survivor', claimTimeoutMs: 3_000 } });
		await eventually(async () => new Set((await readMessages<Processed>(redis, n.processed)).map((p) => p.id)).size === 60, 30_000, 'all 60');
		await eventually(async () => (await pendingCount(redis, n.stream, n.group)) === 0, 5_000, 'acks');
		const processed = await readMessages<Processed>(redis, n.processed);
		expect(new Set(processed.map((p) => p.id))).toEqual(new Set(ids));
		// At-least-once: only the killed batch may have been recorded twice.
		expect(processed.length - 60).toBeLessThanOrEqual(10);
		expect(processed.some((p) => p.deliveryCount === 2)).toBe(true);
	}, 90_000);
});
