import type Redis from 'ioredis';

import { closeRedis, connectRedis } from '../../nodes/shared/queue';
import { StreamConsumer, type BatchOutcome, type ConsumerOptions, type StreamMessage } from '../../nodes/shared/queue/consumer';
import { deletePrefix, redisCredential, testRedis, uniquePrefix } from '../support/redis';
import { addJson, eventually, pendingCount, readMessages } from '../support/streams';
import { activateTrigger, type ActiveTrigger } from '../../scripts/engine-harness/run-workflow';
import { consumerWorkflow } from './workflows/consumer-workflow';

// Issue 25 items 3 and 4: a batch is never run by two executions at once — not after Max Execution
// Time, not after a takeover, not after the trigger is deactivated and activated again.
const prefix = uniquePrefix('overrun');
const credentials = { leadPipelineRedis: redisCredential() };
let redis: Redis;
const active: ActiveTrigger[] = [];
const cleanups: Array<() => Promise<void>> = [];

beforeAll(() => {
	redis = testRedis();
});
afterEach(async () => {
	await Promise.all(active.splice(0).map(async (t) => await t.close()));
	for (const cleanup of cleanups.splice(0)) await cleanup();
});
afterAll(async () => {
	await deletePrefix(redis, prefix);
	redis.disconnect();
});

const names = (test: string) => ({ stream: `${prefix}${test}:queue`, group: 'g', processed: `${prefix}${test}:processed` });

function options(stream: string, consumer: string, extra: Partial<ConsumerOptions> = {}): ConsumerOptions {
	return {
		stream, group: 'g', consumer, startId: '0', batchSize: 10, concurrency: 1, blockMs: 100, maxRetries: 5,
		claimTimeoutMs: 3_000, dlqStream: `${stream}:dlq`, parseJson: true, ackMode: 'executionSucceeds', ...extra,
	};
}

async function coreConsumer(o: ConsumerOptions, handler: (m: StreamMessage[]) => Promise<BatchOutcome>, logs: string[] = []) {
	const command = await connectRedis(redisCredential(), 'command');
	const blocking = await connectRedis(redisCredential(), 'blocking');
	const log = { warn: (m: string) => void logs.push(m), debug: () => undefined, info: (m: string) => void logs.push(m) };
	const consumer = new StreamConsumer(command, blocking, o, handler, log);
	cleanups.push(async () => {
		await consumer.stop(2_000);
		await Promise.all([closeRedis(command), closeRedis(blocking)]);
	});
	return consumer;
}

const owners = async (stream: string) =>
	((await redis.xpending(stream, 'g', '-', '+', 100)) as Array<[string, string, number, number]>).map(([id, owner, , count]) => ({ id, owner, count }));

const consumerNames = async (stream: string) =>
	((await redis.xinfo('CONSUMERS', stream, 'g')) as unknown[][]).map((c) => String(c[c.indexOf('name') + 1]));

describe('a batch runs in one execution at a time', () => {
	test('an execution past Max Execution Time keeps its batch: a second consumer does not run it beside the first', async () => {
		const n = names('past-max');
		const ids = await addJson(redis, n.stream, Array.from({ length: 5 }, (_, i) => ({ n: i })));
		// A runs 6 s, far past its Max Execution Time (1 s) and two claim timeouts of B (3 s).
		const workflow = (consumer: string) =>
			consumerWorkflow({ ...n, batchSize: 5, sleepMs: 6_000, options: { consumer, maxExecutionMs: 1_000, claimTimeoutMs: 3_000 } });
		const a = await activateTrigger(workflow('a'), { credentials });
		active.push(a);
		await eventually(async () => (await pendingCount(redis, n.stream, n.group)) === 5, 5_000, 'A holds the batch');
		active.push(await activateTrigger(workflow('b'), { credentials }));
		await eventually(async () => (await redis.xlen(n.processed)) >= 5, 20_000, 'the batch done');
		await eventually(async () => (await pendingCount(redis, n.stream, n.group)) === 0, 5_000, 'acked');
		await new Promise((r) => setTimeout(r, 7_000)); // long enough for a second run to finish too
		const processed = await readMessages<{ id: string; deliveryCount: number }>(redis, n.processed);
		expect(processed.map((p) => p.id).sort()).toEqual([...ids].sort());
		expect(processed.every((p) => p.deliveryCount === 1)).toBe(true);
	}, 40_000);

	test('a late ack after another consumer took the batch over acks none of its entries and says "taken over"', async () => {
		const n = names('late-ack');
		const ids = await addJson(redis, n.stream, [{ n: 1 }, { n: 2 }]);
		let release!: () => void;
		const gate = new Promise<void>((r) => (release = r));
		const logs: string[] = [];
		const a = await coreConsumer(options(n.stream, 'a'), async () => {
			await gate;
			return { status: 'success' };
		}, logs);
		await a.start();
		await a.dispatchedFirstBatch;
		// A stalled (its heartbeat lost the race): B took the first entry over and is running it.
		await redis.call('XCLAIM', n.stream, 'g', 'b', 0, ids[0]);
		release();
		await eventually(async () => !(await owners(n.stream)).some((o) => o.owner === 'a'), 5_000, "A's own entry acked");
		expect(await owners(n.stream)).toEqual([{ id: ids[0], owner: 'b', count: 2 }]);
		await eventually(async () => logs.some((l) => /taken over/.test(l)), 2_000, 'the warning');
	});

	test('a late ack does not ack a later delivery of the same entry to the same consumer', async () => {
		const n = names('late-ack-again');
		const [id] = await addJson(redis, n.stream, [{ n: 1 }]);
		let release!: () => void;
		const gate = new Promise<void>((r) => (release = r));
		const a = await coreConsumer(options(n.stream, 'a'), async () => {
			await gate;
			return { status: 'success' };
		});
		await a.start();
		await a.dispatchedFirstBatch;
		// Taken over and delivered again to a consumer of the same name (a new delivery, count 3).
		await redis.call('XCLAIM', n.stream, 'g', 'b', 0, id);
		await redis.call('XCLAIM', n.stream, 'g', 'a', 0, id);
		release();
		await new Promise((r) => setTimeout(r, 500));
		expect(await owners(n.stream)).toEqual([{ id, owner: 'a', count: 3 }]);
	});

	test('deactivate and activate again with a batch in flight: not run twice, and the two activations have different consumer names', async () => {
		const n = names('reactivate');
		const ids = await addJson(redis, n.stream, [{ n: 1 }, { n: 2 }, { n: 3 }]);
		const workflow = consumerWorkflow({ ...n, batchSize: 3, sleepMs: 4_000, options: { stopTimeoutMs: 300 } });
		const first = await activateTrigger(workflow, { credentials });
		await eventually(async () => (await pendingCount(redis, n.stream, n.group)) === 3, 5_000, 'a batch in flight');
		const [{ owner: firstName }] = await owners(n.stream);
		await first.close(); // returns after the stop timeout, the execution still runs
		const second = await activateTrigger(workflow, { credentials });
		active.push(second);
		await eventually(async () => (await redis.xlen(n.processed)) >= 3, 15_000, 'the batch done');
		await eventually(async () => (await pendingCount(redis, n.stream, n.group)) === 0, 5_000, 'acked');
		await addJson(redis, n.stream, [{ n: 4 }]);
		await eventually(async () => (await redis.xlen(n.processed)) >= 4, 10_000, 'the next entry');
		await new Promise((r) => setTimeout(r, 5_000)); // long enough for a second run of the batch
		const processed = await readMessages<{ id: string }>(redis, n.processed);
		expect(processed.slice(0, 3).map((p) => p.id).sort()).toEqual([...ids].sort());
		expect(processed).toHaveLength(4);
		expect(second.runs).toHaveLength(1);
		expect(await consumerNames(n.stream)).not.toContain(firstName);
		expect((await consumerNames(n.stream)).length).toBe(1);
	}, 40_000);
});

describe('idle consumers', () => {
	test('idle consumers with nothing pending are deleted; one with pending entries is kept, for autoclaim', async () => {
		const n = names('idle');
		const [id] = await addJson(redis, n.stream, [{ n: 1 }]);
		await redis.xgroup('CREATE', n.stream, n.group, '0');
		await redis.call('XREADGROUP', 'GROUP', n.group, 'dead-with-pending', 'COUNT', 1, 'STREAMS', n.stream, '>');
		await redis.call('XGROUP', 'CREATECONSUMER', n.stream, n.group, 'dead-empty');
		await new Promise((r) => setTimeout(r, 1_100));
		const trigger = await activateTrigger(
			consumerWorkflow({ ...n, options: { claimTimeoutMs: 60_000, idleConsumerMs: 1_000 } }),
			{ credentials },
		);
		await eventually(async () => !(await consumerNames(n.stream)).includes('dead-empty'), 5_000, 'the empty one deleted');
		expect(await consumerNames(n.stream)).toContain('dead-with-pending');
		expect((await owners(n.stream)).map((o) => o.id)).toEqual([id]);
		await trigger.close();
		// Closing deletes its own consumer too: its name is never used again.
		expect(await consumerNames(n.stream)).toEqual(['dead-with-pending']);
	}, 20_000);
});

describe('options that contradict each other are refused', () => {
	test('a heartbeat slower than half the claim timeout; Release Batch After shorter than Max Execution Time', async () => {
		const handler = async () => ({ status: 'success' as const });
		expect(() => new StreamConsumer(redis, redis, options('x', 'c', { claimTimeoutMs: 3_000, heartbeatMs: 2_000 }), handler)).toThrow(/half the claim timeout/);
		expect(() => new StreamConsumer(redis, redis, options('x', 'c', { maxExecutionMs: 10_000, releaseAfterMs: 5_000 }), handler)).toThrow(/at least Max Execution Time/);
		const n = names('contradict');
		const activation = activateTrigger(consumerWorkflow({ ...n, options: { maxExecutionMs: 10_000, releaseAfterMs: 5_000 } }), { credentials });
		await expect(activation).rejects.toThrow(/Release Batch After \(Ms\) \(5000\) is shorter than Max Execution Time/);
	});
});
