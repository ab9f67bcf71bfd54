import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { IDataObject, INode } from 'n8n-workflow';
import type Redis from 'ioredis';

import { closeRedis, connectRedis } from '../../nodes/shared/queue';
import { StreamConsumer, type ConsumerOptions } from '../../nodes/shared/queue/consumer';
import { deletePrefix, redisCredential, testRedis, uniquePrefix } from '../support/redis';
import { addJson, eventually, readAll, readMessages } from '../support/streams';
import { errorOf, outputOf, runWorkflow, type WorkflowJson } from '../../scripts/engine-harness/run-workflow';
import { streamNodeWorkflow } from './workflows/stream-node-workflow';

// Issue 25 items 12 and 13: every DLQ the pack or its templates write can be replayed to the queue
// the item came from, and is capped with a warning before the cap.
const prefix = uniquePrefix('dlq-add');
const credentials = { leadPipelineRedis: redisCredential() };
let redis: Redis;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(() => {
	redis = testRedis();
});
afterEach(async () => {
	for (const cleanup of cleanups.splice(0)) await cleanup();
});
afterAll(async () => {
	await deletePrefix(redis, prefix);
	redis.disconnect();
});

const templateNode = (file: string, name: string): INode => {
	const workflow = JSON.parse(readFileSync(join(__dirname, '../../workflows', file), 'utf8')) as { nodes: INode[] };
	return structuredClone(workflow.nodes.find((n) => n.name === name)!);
};

/** Manual Trigger → the template's dead-letter node, writing to a DLQ under this test's prefix. */
function withTemplateNode(node: INode, dlqStream: string): WorkflowJson {
	const parameters = { ...node.parameters };
	if ('dlqStream' in parameters) parameters.dlqStream = dlqStream;
	if ('stream' in parameters) parameters.stream = dlqStream;
	return {
		nodes: [
			{ id: 'd0000000-0000-4000-8000-000000000001', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
			{ ...node, parameters, position: [200, 0], credentials: { leadPipelineRedis: { id: 'lp-redis', name: 'Lead Pipeline Redis' } } },
		],
		connections: { Start: { main: [[{ node: node.name, type: 'main', index: 0 }]] } },
	};
}

const templates = [
	{ file: 'filter-queue.json', node: 'Dead-letter the item', failedIn: 'filter queue' },
	{ file: 'crm-sync.json', node: 'Dead-letter: CRM refused', failedIn: 'crm sync' },
	{ file: 'outreach.json', node: 'Dead-letter: not sent', failedIn: 'outreach' },
];

describe('dead letters the templates write', () => {
	test.each(templates)('$file "$node": the dead letter replays to its original queue', async ({ file, node, failedIn }) => {
		const queue = `${prefix}${failedIn}:queue`;
		const dlqStream = `${prefix}${failedIn}:dlq`;
		const lead = { traceId: 'trace-1', leadData: { name: 'Dead Letter', phone: '+919845098450' } };
		// The item a consumer-triggered workflow sends to its error output: the consumed entry and the error.
		const item: IDataObject = { id: '1700000000000-0', stream: queue, deliveryCount: 2, message: lead, error: 'the step refused it' };
		const run = await runWorkflow(withTemplateNode(templateNode(file, node), dlqStream), { credentials, input: [item], mode: 'trigger' });
		expect(errorOf(run)).toBeUndefined();

		const [letter] = await readAll(redis, dlqStream);
		// What the templates' readers (and the e2e proving path) look at is still there.
		expect(JSON.parse(letter.fields.message)).toMatchObject({ traceId: 'trace-1', entryId: item.id, failedIn, error: 'the step refused it' });
		expect(letter.fields).toMatchObject({ originalQueue: queue, originalId: item.id, lastError: 'the step refused it', retryCount: '1' });

		const replay = await runWorkflow(streamNodeWorkflow({ operation: 'replayDeadLetters', dlqStream, limit: 10 }), { credentials, mode: 'trigger' });
		expect(errorOf(replay)).toBeUndefined();
		expect(outputOf(replay, 'Redis Stream')).toEqual([expect.objectContaining({ replayed: true, queue })]);
		expect(await readMessages(redis, queue)).toEqual([lead]);
		expect(await redis.xlen(dlqStream)).toBe(0);
	});
});

describe('Add Dead Letter: capped, with a warning before the cap', () => {
	const parameters = (dlqStream: string, queue: string, cap: number) => ({
		operation: 'addDeadLetter',
		dlqStream,
		originalQueue: queue,
		deadLetterOptions: { dlqMaxLen: cap },
	});

	test('from 80% of the cap the output says so; at the cap the item is refused with how to fix it, nothing trimmed', async () => {
		const queue = `${prefix}cap:queue`;
		const dlqStream = `${prefix}cap:dlq`;
		const items = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `1-${i}`, stream: queue, message: { n: i }, error: 'x' }));
		const first = await runWorkflow(streamNodeWorkflow(parameters(dlqStream, queue, 5)), { credentials, input: items(3), mode: 'trigger' });
		expect(outputOf(first, 'Redis Stream').map((o) => o.dlqNearCap)).toEqual([false, false, false]);
		const second = await runWorkflow(streamNodeWorkflow(parameters(dlqStream, queue, 5)), { credentials, input: items(1), mode: 'trigger' });
		expect(outputOf(second, 'Redis Stream')).toEqual([expect.objectContaining({ dlqNearCap: true, dlqLength: 4, dlqCap: 5 })]);
		const full = await runWorkflow(streamNodeWorkflow(parameters(dlqStream, queue, 5)), { credentials, input: items(2), mode: 'trigger' });
		expect(errorOf(full)).toMatch(/holds its cap of 5/);
		expect(full.data.resultData.error?.description).toMatch(/Replay or delete dead letters/);
		expect(await redis.xlen(dlqStream)).toBe(5);
	});

	test('an editor test run writes beside production', async () => {
		const queue = `${prefix}manual:queue`;
		const dlqStream = `${prefix}manual:dlq`;
		const run = await runWorkflow(streamNodeWorkflow(parameters(dlqStream, queue, 10)), { credentials, input: [{ id: '1-0', stream: queue, message: { n: 1 } }], mode: 'manual' });
		expect(errorOf(run)).toBeUndefined();
		expect(await redis.exists(dlqStream)).toBe(0);
		expect(await redis.xlen(`${dlqStream}:test`)).toBe(1);
		expect(outputOf(run, 'Redis Stream')).toEqual([expect.objectContaining({ testRun: true })]);
	});
});

describe('the consumer warns when its DLQ nears its cap', () => {
	test('a move that fills the DLQ to 80% of its cap warns in the log', async () => {
		const stream = `${prefix}consumer:queue`;
		const dlqStream = `${prefix}consumer:dlq`;
		await addJson(redis, dlqStream, [{ old: 1 }, { old: 2 }, { old: 3 }]);
		await addJson(redis, stream, ['not json']);
		const logs: string[] = [];
		const o: ConsumerOptions = {
			stream, group: 'g', consumer: 'c', startId: '0', batchSize: 10, concurrency: 1, blockMs: 100, maxRetries: 1,
			claimTimeoutMs: 3_000, dlqStream, dlqMaxLen: 5, parseJson: true, ackMode: 'executionSucceeds',
		};
		const command = await connectRedis(redisCredential(), 'command');
		const blocking = await connectRedis(redisCredential(), 'blocking');
		const log = { warn: (m: string) => void logs.push(m), debug: () => undefined };
		const consumer = new StreamConsumer(command, blocking, o, async () => ({ status: 'success' }), log);
		cleanups.push(async () => {
			await consumer.stop(2_000);
			await Promise.all([closeRedis(command), closeRedis(blocking)]);
		});
		await consumer.start();
		await eventually(async () => (await redis.xlen(dlqStream)) === 4, 10_000, 'the move');
		await eventually(async () => logs.some((l) => /4 of its cap of 5/.test(l)), 2_000, 'the warning');
	}, 20_000);
});
