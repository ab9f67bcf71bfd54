import type { IDataObject } from 'n8n-workflow';
import type Redis from 'ioredis';

import { dlqStreamName } from '../../nodes/shared/queue/streamGroup';
import { deletePrefix, redisCredential, testRedis, uniquePrefix } from '../support/redis';
import { addJson, eventually, pendingCount, readMessages } from '../support/streams';
import { activateTrigger, errorOf, outputOf, runWorkflow } from '../../scripts/engine-harness/run-workflow';
import { consumerWorkflow } from './workflows/consumer-workflow';
import { streamNodeWorkflow } from './workflows/stream-node-workflow';

const prefix = uniquePrefix('admin');
const credentials = { leadPipelineRedis: redisCredential() };
let redis: Redis;

beforeAll(() => {
	redis = testRedis();
});
afterAll(async () => {
	await deletePrefix(redis, prefix);
	redis.disconnect();
});

/** Runs the node as a production execution would (editor test runs are in redis-stream-manual.test.ts). */
async function runStreamNode(parameters: Record<string, unknown>, input?: IDataObject[]) {
	const run = await runWorkflow(streamNodeWorkflow(parameters), { credentials, input, mode: 'trigger' });
	expect(errorOf(run)).toBeUndefined();
	return outputOf(run, 'Redis Stream');
}

describe('Redis Stream action node: Info, Acknowledge, Dead Letters', () => {
	test('Info reports length, pending, lag, consumers, DLQ size and flags thresholds', async () => {
		const stream = `${prefix}info:queue`;
		const group = 'g';
		const ids = await addJson(redis, stream, [{ a: 1 }, { a: 2 }, { a: 3 }, { a: 4 }, { a: 5 }]);
		await redis.xgroup('CREATE', stream, group, '0');
		await redis.xreadgroup('GROUP', group, 'c1', 'COUNT', 2, 'STREAMS', stream, '>');
		await addJson(redis, dlqStreamName(stream, group), [{ dead: 1 }]);

		const [info] = await runStreamNode({ operation: 'info', stream, group, thresholds: { queueLength: 4, dlqSize: 5, pending: 1 } });
		expect(info).toMatchObject({
			stream,
			group,
			exists: true,
			groupExists: true,
			length: 5,
			pending: 2,
			lag: 3,
			queueLength: 5,
			consumers: 1,
			dlqStream: dlqStreamName(stream, group),
			dlqSize: 1,
			alerts: { backlog: true, dlq: false, pending: true },
			alerting: true,
		});
		expect(info).toMatchObject({ lastDeliveredId: ids[1], lastGeneratedId: ids[4] });

		const [quiet] = await runStreamNode({ operation: 'info', stream, group });
		expect(quiet).toMatchObject({ alerts: { backlog: false, dlq: false, pending: false }, alerting: false });

		const [missing] = await runStreamNode({ operation: 'info', stream: `${prefix}info:nothing`, group });
		expect(missing).toMatchObject({ exists: false, groupExists: false, length: 0, pending: 0, lag: 0, dlqSize: 0 });
	});

	test('Acknowledge XACKs each id and says which were pending', async () => {
		const stream = `${prefix}ack:queue`;
		const ids = await addJson(redis, stream, [{ a: 1 }, { a: 2 }]);
		await redis.xgroup('CREATE', stream, 'g', '0');
		await redis.xreadgroup('GROUP', 'g', 'c1', 'COUNT', 10, 'STREAMS', stream, '>');
		const out = await runStreamNode({ operation: 'acknowledge', stream, group: 'g', ids: '={{ $json.id }}' }, [
			{ id: ids[0] },
			{ id: ids[1] },
			{ id: ids[1] },
		]);
		expect(out.map((o) => [o.id, o.acknowledged])).toEqual([
			[ids[0], true],
			[ids[1], true],
			[ids[1], false],
		]);
		expect(await pendingCount(redis, stream, 'g')).toBe(0);
	});

	test('a dead letter can be listed with its reason, replayed, and is then processed exactly once', async () => {
		const n = { stream: `${prefix}replay:queue`, group: 'g', processed: `${prefix}replay:processed`, gate: `${prefix}replay:gate` };
		const dlqStream = dlqStreamName(n.stream, n.group);
		await redis.set(n.gate, 'string: makes the Record step fail');
		const [original] = await addJson(redis, n.stream, [{ lead: 'Asha', fail: true }]);
		const trigger = await activateTrigger(consumerWorkflow({ ...n, options: { maxRetries: 2, claimTimeoutMs: 3_000 } }), { credentials });
		try {
			await eventually(async () => (await redis.xlen(dlqStream)) === 1, 25_000, 'dead letter');

			const listed = await runStreamNode({ operation: 'listDeadLetters', dlqStream, limit: 10 });
			expect(listed).toEqual([
				expect.objectContaining({
					dlqStream,
					message: { lead: 'Asha', fail: true },
					originalQueue: n.stream,
					originalId: original,
					group: n.group,
					retryCount: 2,
					lastError: expect.stringMatching(/WRONGTYPE/),
				}),
			]);

			await redis.del(n.gate);
			const replayed = await runStreamNode({ operation: 'replayDeadLetters', dlqStream, replayIds: String(listed[0].id) });
			expect(replayed).toEqual([
				expect.objectContaining({ deadLetterId: listed[0].id, replayed: true, queue: n.stream, newId: expect.any(String) }),
			]);
			expect(await redis.xlen(dlqStream)).toBe(0);

			await eventually(async () => (await redis.exists(n.gate)) === 1, 10_000, 'the replayed entry to be processed');
			await new Promise((r) => setTimeout(r, 500));
			const processed = await readMessages<{ id: string; deliveryCount: number }>(redis, n.gate);
			expect(processed).toEqual([{ id: replayed[0].newId, deliveryCount: 1, message: { lead: 'Asha', fail: true } }]);

			const again = await runStreamNode({ operation: 'replayDeadLetters', dlqStream, replayIds: String(listed[0].id) });
			expect(again).toEqual([expect.objectContaining({ replayed: false, reason: expect.stringMatching(/already replayed/) })]);
		} finally {
			await trigger.close();
		}
	});

	test('Replay with no ids moves the oldest dead letters up to Limit', async () => {
		const dlqStream = `${prefix}replay-all:dlq`;
		const queue = `${prefix}replay-all:queue`;
		for (let i = 0; i < 3; i++) {
			await redis.xadd(dlqStream, '*', 'message', JSON.stringify({ i }), 'originalQueue', queue, 'originalId', `1-${i}`, 'group', 'g', 'failedAt', 'x', 'retryCount', '5', 'lastError', 'boom');
		}
		const out = await runStreamNode({ operation: 'replayDeadLetters', dlqStream, limit: 2, replayIds: '' });
		expect(out.filter((o) => o.replayed)).toHaveLength(2);
		expect(await readMessages(redis, queue)).toEqual([{ i: 0 }, { i: 1 }]);
		expect(await redis.xlen(dlqStream)).toBe(1);
	});
});
