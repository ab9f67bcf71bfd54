import { randomBytes } from 'node:crypto';

import type Redis from 'ioredis';

import { closeRedis, connectRedis } from '../../nodes/shared/queue';
import { StreamConsumer, type BatchOutcome, type ConsumerOptions, type StreamMessage } from '../../nodes/shared/queue/consumer';
import { deletePrefix, redisCredential, testRedis, uniquePrefix } from '../support/redis';
import { startRedisServer } from '../support/redis-server';
import { addJson, eventually, pendingCount, readMessages } from '../support/streams';
import { activateTrigger, type ActiveTrigger } from '../../scripts/engine-harness/run-workflow';
import { consumerWorkflow } from './workflows/consumer-workflow';

// Issue 9 items 8–11: acks retried, waiting executions, a bound on the wait for an execution, and a
// stop() that is bounded and leaves no loop behind.
const prefix = uniquePrefix('lifecycle');
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

function options(stream: string, extra: Partial<ConsumerOptions> = {}): ConsumerOptions {
	return {
		stream, group: 'g', consumer: 'c', startId: '0', batchSize: 10, concurrency: 1, blockMs: 100, maxRetries: 5,
		claimTimeoutMs: 3_000, dlqStream: `${stream}:dlq`, parseJson: true, ackMode: 'executionSucceeds', ...extra,
	};
}

async function coreConsumer(o: ConsumerOptions, handler: (m: StreamMessage[]) => Promise<BatchOutcome>) {
	const command = await connectRedis(redisCredential(), 'command');
	const blocking = await connectRedis(redisCredential(), 'blocking');
	const consumer = new StreamConsumer(command, blocking, o, handler);
	cleanups.push(async () => {
		await consumer.stop(2_000);
		await Promise.all([closeRedis(command), closeRedis(blocking)]);
	});
	return consumer;
}

const names = (test: string) => ({ stream: `${prefix}${test}:queue`, group: 'g', processed: `${prefix}${test}:processed` });

describe('consumer lifecycle', () => {
	test('a failed XACK is retried while the entries stay ours: the batch never runs twice', async () => {
		const user = `lp-test-${randomBytes(4).toString('hex')}`;
		const password = randomBytes(12).toString('hex');
		await redis.call('ACL', 'SETUSER', user, 'on', `>${password}`, '~*', '&*', '+@all', '-xack');
		cleanups.push(async () => void (await redis.call('ACL', 'DELUSER', user)));
		const n = names('ack-retry');
		await addJson(redis, n.stream, [{ n: 1 }]);
		const trigger = await activateTrigger(consumerWorkflow({ ...n, options: { claimTimeoutMs: 3_000 } }), {
			credentials: { leadPipelineRedis: { ...redisCredential(), username: user, password } },
		});
		active.push(trigger);
		await trigger.waitForRuns(1);
		await new Promise((r) => setTimeout(r, 300)); // the first XACK has been refused (NOPERM)
		expect(await pendingCount(redis, n.stream, n.group)).toBe(1);
		await redis.call('ACL', 'SETUSER', user, '+xack');
		await eventually(async () => (await pendingCount(redis, n.stream, n.group)) === 0, 5_000, 'the retried ack');
		await new Promise((r) => setTimeout(r, 3_500)); // past the claim timeout: nothing is re-run
		expect(await readMessages(redis, n.processed)).toHaveLength(1);
		expect(trigger.runs).toHaveLength(1);
	});

	test('Executions That Wait = Leave Pending: a run paused at a Wait node is not acknowledged', async () => {
		const n = names('wait-pending');
		const [id] = await addJson(redis, n.stream, [{ n: 1 }]);
		const trigger = await activateTrigger(consumerWorkflow({ ...n, wait: true, options: { waitingMode: 'leavePending', claimTimeoutMs: 60_000 } }), {
			credentials: { leadPipelineRedis: redisCredential() },
		});
		active.push(trigger);
		await trigger.waitForRuns(1);
		expect(trigger.runs[0].status).toBe('waiting');
		await eventually(async () => (await redis.hget(`${n.stream}:${n.group}:lastError`, id)) !== null, 5_000, 'the reason');
		expect(await redis.hget(`${n.stream}:${n.group}:lastError`, id)).toMatch(/waiting/);
		expect(await pendingCount(redis, n.stream, n.group)).toBe(1);
	});

	test('Executions That Wait = Acknowledge (default): the waiting execution took the entries over', async () => {
		const n = names('wait-ack');
		await addJson(redis, n.stream, [{ n: 1 }]);
		const trigger = await activateTrigger(consumerWorkflow({ ...n, wait: true }), { credentials: { leadPipelineRedis: redisCredential() } });
		active.push(trigger);
		await trigger.waitForRuns(1);
		await eventually(async () => (await pendingCount(redis, n.stream, n.group)) === 0, 5_000, 'ack');
	});

	test('Max Execution Time: a run that never reports back frees its slot; its entries stay pending with the reason', async () => {
		const n = names('max-exec');
		const [stuck, next] = await addJson(redis, n.stream, [{ n: 1 }]).then(async (a) => [...a, ...(await addJson(redis, n.stream, [{ n: 2 }]))]);
		const seen: string[] = [];
		const consumer = await coreConsumer(options(n.stream, { batchSize: 1, maxExecutionMs: 300 }), async (messages) => {
			seen.push(messages[0].id);
			if (messages[0].id === stuck) return await new Promise<BatchOutcome>(() => undefined);
			return { status: 'success' };
		});
		await consumer.start();
		await eventually(async () => seen.includes(next), 3_000, 'the next batch');
		await eventually(async () => (await redis.hget(`${n.stream}:g:lastError`, stuck)) !== null, 3_000, 'the reason');
		expect(await redis.hget(`${n.stream}:g:lastError`, stuck)).toMatch(/Max Execution Time/);
		const pending = (await redis.xpending(n.stream, 'g', '-', '+', 10)) as Array<[string]>;
		expect(pending.map(([id]) => id)).toEqual([stuck]);
	});

	test('stop() during start(): no loop is left running, nothing is read afterwards', async () => {
		const n = names('stop-in-start');
		let handled = 0;
		const consumer = await coreConsumer(options(n.stream), async () => {
			handled++;
			return { status: 'success' };
		});
		const starting = consumer.start();
		await consumer.stop(1_000);
		await starting;
		await addJson(redis, n.stream, [{ n: 1 }]);
		await new Promise((r) => setTimeout(r, 500));
		expect(handled).toBe(0);
		expect(await pendingCount(redis, n.stream, 'g')).toBe(0);
	});

	test('deactivating with Redis down (frozen) returns within the stop timeout', async () => {
		const server = await startRedisServer();
		cleanups.push(async () => void server.process.kill('SIGKILL'));
		const url = new URL(server.url);
		const credential = { ...redisCredential(), host: url.hostname, port: Number(url.port), username: '', password: '' };
		const n = names('redis-down');
		const trigger = await activateTrigger(consumerWorkflow({ ...n, sleepMs: 5_000, options: { stopTimeoutMs: 1_000 } }), {
			credentials: { leadPipelineRedis: credential },
		});
		const own = await connectRedis(credential);
		await own.xadd(n.stream, '*', 'message', '{"n":1}');
		await eventually(async () => (await pendingCount(own, n.stream, n.group)) === 1, 5_000, 'a batch in flight');
		own.disconnect();
		// Frozen, not gone: sockets stay open and nothing answers (a hung host, a partition), the
		// case where a CLIENT UNBLOCK or a QUIT would wait forever.
		server.process.kill('SIGSTOP');
		await new Promise((r) => setTimeout(r, 200));

		const started = Date.now();
		const closed = await Promise.race([trigger.close().then(() => 'closed'), new Promise((r) => setTimeout(() => r('hung'), 10_000))]);
		expect(closed).toBe('closed');
		expect(Date.now() - started).toBeLessThan(4_000);
	}, 30_000);
});
