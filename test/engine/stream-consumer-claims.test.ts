import type Redis from 'ioredis';

import { closeRedis, connectRedis } from '../../nodes/shared/queue';
import { StreamConsumer, type ConsumerOptions, type StreamMessage } from '../../nodes/shared/queue/consumer';
import { deletePrefix, redisCredential, testRedis, uniquePrefix } from '../support/redis';
import { addJson, eventually, pendingCount, readMessages } from '../support/streams';
import { activateTrigger, type ActiveTrigger } from '../../scripts/engine-harness/run-workflow';
import { consumerWorkflow } from './workflows/consumer-workflow';

// Issue 9 item 7: claim timeouts long enough for the heartbeat, and a heartbeat that renews only
// entries this consumer still owns.
const prefix = uniquePrefix('claims');
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

function options(stream: string, consumer: string, extra: Partial<ConsumerOptions> = {}): ConsumerOptions {
	return {
		stream, group: 'g', consumer, startId: '0', batchSize: 10, concurrency: 1, blockMs: 100, maxRetries: 5,
		claimTimeoutMs: 3_000, dlqStream: `${stream}:dlq`, parseJson: true, ackMode: 'executionSucceeds', ...extra,
	};
}

async function coreConsumer(o: ConsumerOptions, handler: (m: StreamMessage[]) => Promise<{ status: 'success' }>) {
	const command = await connectRedis(redisCredential(), 'command');
	const blocking = await connectRedis(redisCredential(), 'blocking');
	const consumer = new StreamConsumer(command, blocking, o, handler);
	cleanups.push(async () => {
		await consumer.stop(2_000);
		await Promise.all([closeRedis(command), closeRedis(blocking)]);
	});
	return consumer;
}

const owners = async (stream: string) =>
	((await redis.xpending(stream, 'g', '-', '+', 100)) as Array<[string, string]>).map(([id, owner]) => [id, owner]);

describe('claims and the heartbeat', () => {
	test('the heartbeat never takes back an entry another consumer legitimately claimed', async () => {
		const stream = `${prefix}stolen`;
		const [id] = await addJson(redis, stream, [{ n: 1 }]);
		let release!: () => void;
		const gate = new Promise<void>((r) => (release = r));
		const a = await coreConsumer(options(stream, 'a'), async () => {
			await gate;
			return { status: 'success' };
		});
		await a.start();
		await a.dispatchedFirstBatch;
		// As if A had stalled past the claim timeout: B takes the entry over.
		await redis.call('XCLAIM', stream, 'g', 'b', 0, id, 'JUSTID');
		await new Promise((r) => setTimeout(r, 2_200)); // two of A's heartbeats (every 1 s)
		expect(await owners(stream)).toEqual([[id, 'b']]);
		release();
	});

	test('a Claim Timeout below 3000 ms is refused with a message saying why', async () => {
		const n = { stream: `${prefix}short:queue`, group: 'g', processed: `${prefix}short:processed` };
		const activation = activateTrigger(consumerWorkflow({ ...n, options: { claimTimeoutMs: 300 } }), { credentials });
		await expect(activation).rejects.toThrow(/Claim Timeout \(Ms\) must be at least 3000/);
		expect(() => new StreamConsumer(redis, redis, options(n.stream, 'x', { claimTimeoutMs: 300 }), async () => ({ status: 'success' }))).toThrow(
			/at least 3000/,
		);
	});

	test('two consumers at the shortest claim timeout, batches slower than it: no entry processed by both', async () => {
		const n = { stream: `${prefix}race:queue`, group: 'g', processed: `${prefix}race:processed` };
		const ids = await addJson(redis, n.stream, Array.from({ length: 20 }, (_, i) => ({ n: i })));
		for (const consumer of ['a', 'b']) {
			const trigger = await activateTrigger(
				consumerWorkflow({ ...n, batchSize: 5, concurrency: 2, sleepMs: 4_000, options: { consumer, claimTimeoutMs: 3_000 } }),
				{ credentials },
			);
			active.push(trigger);
		}
		await eventually(async () => (await redis.xlen(n.processed)) >= 20, 40_000, 'all 20');
		await eventually(async () => (await pendingCount(redis, n.stream, n.group)) === 0, 5_000, 'acks');
		await new Promise((r) => setTimeout(r, 500));
		const processed = await readMessages<{ id: string; deliveryCount: number }>(redis, n.processed);
		expect(processed.map((p) => p.id).sort()).toEqual([...ids].sort());
		expect(processed.every((p) => p.deliveryCount === 1)).toBe(true);
	}, 60_000);
});
