import type { IDataObject, WorkflowExecuteMode } from 'n8n-workflow';
import type Redis from 'ioredis';

import { errorsKey } from '../../nodes/shared/queue/streams';
import { deletePrefix, redisCredential, testRedis, uniquePrefix } from '../support/redis';
import { addJson, readMessages } from '../support/streams';
import { errorOf, outputOf, runWorkflow } from '../../scripts/engine-harness/run-workflow';
import { streamNodeWorkflow } from './workflows/stream-node-workflow';

// Issue 8 §2: "Execute step" / a manual run in the editor never changes production streams or
// groups. Add writes to "<stream>:test" (or nowhere); Acknowledge and Replay Dead Letters report
// what they would do unless Apply in Test Runs is on. Items say testRun: true.
const prefix = uniquePrefix('stream-manual');
const credentials = { leadPipelineRedis: redisCredential() };
let redis: Redis;

beforeAll(() => {
	redis = testRedis();
});
afterAll(async () => {
	await deletePrefix(redis, prefix);
	redis.disconnect();
});

async function runStreamNode(parameters: Record<string, unknown>, input?: IDataObject[], mode: WorkflowExecuteMode = 'manual') {
	const run = await runWorkflow(streamNodeWorkflow(parameters), { credentials, input, mode });
	expect(errorOf(run)).toBeUndefined();
	return outputOf(run, 'Redis Stream');
}

/** Everything about a stream and its groups that a run could change (idle times left out: they tick). */
async function snapshot(stream: string, group?: string) {
	const exists = (await redis.exists(stream)) === 1;
	if (!exists) return { exists };
	const entries = await redis.xrange(stream, '-', '+');
	const groups = (await redis.call('XINFO', 'GROUPS', stream)) as unknown[];
	if (!group) return { entries, groups };
	const pending = ((await redis.call('XPENDING', stream, group, '-', '+', 1000)) as Array<[string, string, number, number]>).map(([id, consumer, , count]) => [id, consumer, count]);
	const consumers = ((await redis.call('XINFO', 'CONSUMERS', stream, group)) as unknown[][]).map((c) => [c[1], c[3]]);
	const lastErrors = await redis.hgetall(errorsKey(stream, group));
	return { entries, groups, pending, consumers, lastErrors };
}

async function pendingStream(name: string) {
	const stream = `${prefix}${name}`;
	const ids = await addJson(redis, stream, [{ a: 1 }, { a: 2 }, { a: 3 }]);
	await redis.xgroup('CREATE', stream, 'g', '0');
	// Two entries delivered to the production consumer and not yet acknowledged: a batch in flight.
	await redis.xreadgroup('GROUP', 'g', 'worker-1', 'COUNT', 2, 'STREAMS', stream, '>');
	await redis.hset(errorsKey(stream, 'g'), ids[0], 'earlier failure');
	return { stream, ids };
}

async function deadLetters(name: string, count: number) {
	const dlqStream = `${prefix}${name}:dlq`;
	const queue = `${prefix}${name}:queue`;
	for (let i = 0; i < count; i++) {
		await redis.xadd(dlqStream, '*', 'message', JSON.stringify({ i }), 'originalQueue', queue, 'originalId', `1-${i}`, 'group', 'g', 'failedAt', 'x', 'retryCount', '5', 'lastError', 'boom');
	}
	return { dlqStream, queue, ids: (await redis.xrange(dlqStream, '-', '+')).map(([id]) => id) };
}

describe('Redis Stream action node in editor test runs', () => {
	test('Add writes to "<stream>:test" by default; the production stream is untouched; items say testRun', async () => {
		const stream = `${prefix}add:queue`;
		await addJson(redis, stream, [{ existing: true }]);
		const before = await snapshot(stream);
		const out = await runStreamNode({ operation: 'add', stream, entryPer: 'item', payload: 'item' }, [{ n: 1 }, { n: 2 }]);
		expect(await snapshot(stream)).toEqual(before);
		expect(await readMessages(redis, `${stream}:test`)).toEqual([{ n: 1 }, { n: 2 }]);
		expect(out).toEqual([
			expect.objectContaining({ stream: `${stream}:test`, testRun: true, message: { n: 1 } }),
			expect.objectContaining({ stream: `${stream}:test`, testRun: true, message: { n: 2 } }),
		]);
	});

	test('Add with Test Runs Write To = Nothing writes no stream at all and says so', async () => {
		const stream = `${prefix}add-nothing:queue`;
		const out = await runStreamNode({ operation: 'add', stream, entryPer: 'item', payload: 'item', addOptions: { testRunsWriteTo: 'nothing' } }, [{ n: 1 }]);
		expect(await redis.exists(stream, `${stream}:test`)).toBe(0);
		expect(out).toEqual([expect.objectContaining({ stream, written: false, testRun: true, message: { n: 1 } })]);
	});

	test('Add with Test Runs Write To = Production writes the production stream', async () => {
		const stream = `${prefix}add-production:queue`;
		const out = await runStreamNode({ operation: 'add', stream, entryPer: 'item', payload: 'item', addOptions: { testRunsWriteTo: 'production' } }, [{ n: 1 }]);
		expect(await readMessages(redis, stream)).toEqual([{ n: 1 }]);
		expect(out).toEqual([expect.objectContaining({ stream, testRun: true, id: expect.any(String) })]);
	});

	test('Add in a production execution writes the stream as named, no testRun flag', async () => {
		const stream = `${prefix}add-prod-mode:queue`;
		const out = await runStreamNode({ operation: 'add', stream, entryPer: 'item', payload: 'item' }, [{ n: 1 }], 'trigger');
		expect(await readMessages(redis, stream)).toEqual([{ n: 1 }]);
		expect(out[0].testRun).toBeUndefined();
	});

	test('Acknowledge reports what it would acknowledge; group state identical before and after', async () => {
		const { stream, ids } = await pendingStream('ack:queue');
		const before = await snapshot(stream, 'g');
		const out = await runStreamNode({ operation: 'acknowledge', stream, group: 'g', ids: '={{ $json.id }}' }, [{ id: ids[0] }, { id: ids[2] }]);
		expect(await snapshot(stream, 'g')).toEqual(before);
		expect(out).toEqual([
			{ stream, group: 'g', id: ids[0], acknowledged: false, wouldAcknowledge: true, testRun: true },
			{ stream, group: 'g', id: ids[2], acknowledged: false, wouldAcknowledge: false, testRun: true },
		]);
	});

	test('Acknowledge with Apply in Test Runs acknowledges', async () => {
		const { stream, ids } = await pendingStream('ack-apply:queue');
		const out = await runStreamNode({ operation: 'acknowledge', stream, group: 'g', ids: ids[0], applyInTestRuns: true });
		expect(out).toEqual([expect.objectContaining({ id: ids[0], acknowledged: true, testRun: true })]);
		expect(((await redis.call('XPENDING', stream, 'g')) as [number])[0]).toBe(1);
	});

	test('Replay Dead Letters reports what it would replay; DLQ and queue identical before and after', async () => {
		const { dlqStream, queue, ids } = await deadLetters('replay', 3);
		await redis.xadd(dlqStream, '*', 'message', '{}');
		const before = [await snapshot(dlqStream), await snapshot(queue)];
		const listed = await runStreamNode({ operation: 'replayDeadLetters', dlqStream, limit: 10, replayIds: '' });
		const chosen = await runStreamNode({ operation: 'replayDeadLetters', dlqStream, limit: 10, replayIds: `${ids[1]}, 9-9` });
		expect([await snapshot(dlqStream), await snapshot(queue)]).toEqual(before);
		expect(listed).toHaveLength(4);
		expect(listed.slice(0, 3)).toEqual(ids.map((id) => ({ dlqStream, deadLetterId: id, replayed: false, wouldReplay: true, queue, testRun: true })));
		expect(listed[3]).toMatchObject({ replayed: false, wouldReplay: false, reason: expect.stringMatching(/no message or originalQueue/), testRun: true });
		expect(chosen).toEqual([
			{ dlqStream, deadLetterId: ids[1], replayed: false, wouldReplay: true, queue, testRun: true },
			expect.objectContaining({ deadLetterId: '9-9', wouldReplay: false, reason: expect.stringMatching(/not in the dead-letter stream/), testRun: true }),
		]);
	});

	test('Replay Dead Letters with Apply in Test Runs replays', async () => {
		const { dlqStream, queue, ids } = await deadLetters('replay-apply', 1);
		const out = await runStreamNode({ operation: 'replayDeadLetters', dlqStream, limit: 10, replayIds: '', applyInTestRuns: true });
		expect(out).toEqual([expect.objectContaining({ deadLetterId: ids[0], replayed: true, queue, testRun: true })]);
		expect(await readMessages(redis, queue)).toEqual([{ i: 0 }]);
		expect(await redis.xlen(dlqStream)).toBe(0);
	});
});
