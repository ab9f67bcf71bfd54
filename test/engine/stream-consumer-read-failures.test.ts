import type Redis from 'ioredis';
import type { Command } from 'ioredis';

import { closeRedis, connectRedis } from '../../nodes/shared/queue';
import { StreamConsumer, type BatchOutcome, type ConsumerOptions, type StreamMessage } from '../../nodes/shared/queue/consumer';
import { redisCredential } from '../support/redis';
import { freePort, startRedisServer } from '../support/redis-server';
import { addJson, eventually, readMessages } from '../support/streams';
import { activateTrigger, type ActiveTrigger } from '../../scripts/engine-harness/run-workflow';
import { consumerWorkflow } from './workflows/consumer-workflow';

// Issue 9 items 11 and issue 8 §3, the cases the backbone tests left out: a read error that
// retrying does not clear reaches n8n after 10 failures in a row (not before), and no
// XREADGROUP > is sent once stop() was asked for, whatever the loop was doing at that moment.
// Each test has its own redis-server: one is turned into a read-only replica, one is watched.
let server: Awaited<ReturnType<typeof startRedisServer>>;
let credential: ReturnType<typeof redisCredential>;
let admin: Redis;
const cleanups: Array<() => Promise<void>> = [];

beforeEach(async () => {
	server = await startRedisServer();
	const url = new URL(server.url);
	credential = { ...redisCredential(), host: url.hostname, port: Number(url.port), username: '', password: '', database: 0 };
	admin = await connectRedis(credential);
});
afterEach(async () => {
	for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
	await closeRedis(admin);
	server.process.kill('SIGKILL');
});

describe('consumer trigger: read failures in a row', () => {
	test('a read error that keeps coming (Redis became a read-only replica) is reported to n8n after 10 failures in a row, not before', async () => {
		const n = { stream: 'failing:queue', group: 'g', processed: 'failing:processed' };
		let trigger: ActiveTrigger | undefined;
		cleanups.push(async () => await trigger?.close());
		trigger = await activateTrigger(consumerWorkflow({ ...n, options: { stopTimeoutMs: 2_000 } }), { credentials: { leadPipelineRedis: credential } });
		await admin.xadd(n.stream, '*', 'message', '{"n":1}');
		await eventually(async () => (await admin.xlen(n.processed)) === 1, 10_000, 'the consumer to be running');

		// Nothing listens on this port: the server stays a replica that cannot sync, so every
		// XREADGROUP / XAUTOCLAIM (write commands) fails with READONLY, a transient-looking error.
		await admin.call('REPLICAOF', '127.0.0.1', String(await freePort()));
		cleanups.push(async () => void (await admin.call('REPLICAOF', 'NO', 'ONE').catch(() => undefined)));
		const failingSince = Date.now();

		await new Promise((r) => setTimeout(r, 1_500));
		expect(trigger.errors).toEqual([]);

		await eventually(async () => trigger!.errors.length > 0, 45_000, 'emitError after 10 failures in a row');
		expect(Date.now() - failingSince).toBeGreaterThan(5_000);
		expect(trigger.errors).toHaveLength(1);
		expect(trigger.errors[0].message).toMatch(/Consuming failing:queue stopped: 10 failures in a row, the last: .*READONLY|UNBLOCKED/);
		expect((trigger.errors[0] as Error & { description?: string }).description).toMatch(/\w/);
	}, 60_000);
});

function options(stream: string, extra: Partial<ConsumerOptions> = {}): ConsumerOptions {
	return {
		stream, group: 'g', consumer: 'c', startId: '0', batchSize: 10, concurrency: 1, blockMs: 200, maxRetries: 5,
		claimTimeoutMs: 3_000, dlqStream: `${stream}:dlq`, parseJson: true, ackMode: 'executionSucceeds', ...extra,
	};
}

/** Every XREADGROUP the consumer sends, with whether stop() had been asked for at that moment. */
interface SentRead {
	id: string;
	afterStop: boolean;
}

/** The real client, with each command it sends noted (the server still answers every command). */
function noteReads(client: Redis, state: { stopAsked: boolean }, reads: SentRead[]): void {
	const send = client.sendCommand.bind(client);
	client.sendCommand = ((command: Command, stream?: unknown) => {
		if (command.name.toLowerCase() === 'xreadgroup') {
			const args = command.args.map(String);
			reads.push({ id: args[args.length - 1], afterStop: state.stopAsked });
		}
		return send(command, stream as never);
	}) as Redis['sendCommand'];
}

async function watchedConsumer(o: ConsumerOptions, handler: (m: StreamMessage[]) => Promise<BatchOutcome>) {
	const command = await connectRedis(credential, 'command');
	const blocking = await connectRedis(credential, 'blocking');
	const state = { stopAsked: false };
	const reads: SentRead[] = [];
	noteReads(command, state, reads);
	noteReads(blocking, state, reads);
	const consumer = new StreamConsumer(command, blocking, o, handler);
	cleanups.push(async () => {
		await consumer.stop(2_000);
		await Promise.all([closeRedis(command), closeRedis(blocking)]);
	});
	const stop = async (timeoutMs = 5_000) => {
		state.stopAsked = true;
		await consumer.stop(timeoutMs);
	};
	const newReadsAfterStop = () => reads.filter((r) => r.afterStop && r.id === '>');
	return { consumer, reads, stop, newReadsAfterStop };
}

describe('consumer: no XREADGROUP > after stop() was asked for', () => {
	test('stopped while blocked in XREADGROUP > on an empty stream', async () => {
		const w = await watchedConsumer(options('idle:queue', { blockMs: 2_000 }), async () => ({ status: 'success' }));
		await w.consumer.start();
		await eventually(async () => w.reads.some((r) => r.id === '>'), 5_000, 'a blocking read');
		await new Promise((r) => setTimeout(r, 100));
		await w.stop();
		await admin.xadd('idle:queue', '*', 'message', '{"late":true}');
		await new Promise((r) => setTimeout(r, 700));
		expect(w.newReadsAfterStop()).toEqual([]);
		expect(Number(((await admin.xpending('idle:queue', 'g')) as [number])[0])).toBe(0);
	});

	test('stopped while a batch runs and the loop waits for a free slot: the batch finishes and is acked, no read follows', async () => {
		let release!: () => void;
		const running = new Promise<void>((resolve) => {
			release = resolve;
		});
		let started = false;
		const w = await watchedConsumer(options('busy:queue', { concurrency: 1 }), async () => {
			started = true;
			await running;
			return { status: 'success' };
		});
		await addJson(admin, 'busy:queue', [{ n: 1 }]);
		await w.consumer.start();
		await eventually(async () => started, 5_000, 'the batch to start');
		const stopping = w.stop();
		await new Promise((r) => setTimeout(r, 200));
		release();
		await stopping;
		await addJson(admin, 'busy:queue', [{ n: 2 }]);
		await new Promise((r) => setTimeout(r, 700));
		expect(w.newReadsAfterStop()).toEqual([]);
		const pending = (await admin.xpending('busy:queue', 'g', '-', '+', 10)) as unknown[];
		expect(pending).toEqual([]);
		const group = ((await admin.call('XINFO', 'GROUPS', 'busy:queue')) as unknown[][])[0];
		expect(group[group.indexOf('lag') + 1]).toBe(1);
	});

	test('stopped with free slots while batches keep arriving (concurrency 3): no read once stop() was asked for', async () => {
		let handled = 0;
		const w = await watchedConsumer(options('flow:queue', { concurrency: 3, batchSize: 1, blockMs: 50 }), async () => {
			handled++;
			await new Promise((r) => setTimeout(r, 30));
			return { status: 'success' };
		});
		await w.consumer.start();
		const feeding = (async () => {
			for (let i = 0; i < 40; i++) {
				await addJson(admin, 'flow:queue', [{ i }]);
				await new Promise((r) => setTimeout(r, 10));
			}
		})();
		await eventually(async () => handled >= 5, 5_000, 'batches flowing');
		await w.stop();
		await feeding;
		await new Promise((r) => setTimeout(r, 500));
		expect(w.newReadsAfterStop()).toEqual([]);
		expect((await admin.xpending('flow:queue', 'g', '-', '+', 100)) as unknown[]).toEqual([]);
	});

	test('stopped during the backoff after a failed read: it does not read again when the backoff ends', async () => {
		const w = await watchedConsumer(options('backoff:queue', { blockMs: 100 }), async () => ({ status: 'success' }));
		await w.consumer.start();
		await eventually(async () => w.reads.some((r) => r.id === '>'), 5_000, 'a blocking read');
		await admin.call('REPLICAOF', '127.0.0.1', String(await freePort()));
		cleanups.push(async () => void (await admin.call('REPLICAOF', 'NO', 'ONE').catch(() => undefined)));
		const before = w.reads.length;
		await eventually(async () => w.reads.length >= before + 2, 5_000, 'failed reads');
		await admin.call('REPLICAOF', 'NO', 'ONE');
		await w.stop();
		await addJson(admin, 'backoff:queue', [{ n: 1 }]);
		await new Promise((r) => setTimeout(r, 1_500));
		expect(w.newReadsAfterStop()).toEqual([]);
		expect(await readMessages(admin, 'backoff:queue')).toEqual([{ n: 1 }]);
		expect(Number(((await admin.xpending('backoff:queue', 'g')) as [number])[0])).toBe(0);
	});
});
