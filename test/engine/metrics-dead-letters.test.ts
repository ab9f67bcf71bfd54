import type Redis from 'ioredis';
import type { IDataObject } from 'n8n-workflow';

import { dlqStreamName } from '../../nodes/shared/queue/streamGroup';
import { deletePrefix, redisCredential, testRedis, uniquePrefix } from '../support/redis';
import { addJson } from '../support/streams';
import { errorOf, outputOf, runWorkflow } from '../../scripts/engine-harness/run-workflow';
import { metricsWorkflow } from './workflows/metrics-workflow';

// Dead-letter streams outside the dashboard's queues (a template's own DLQ…, the Lead Trigger's
// rejected stream) on the dashboard and in Get Queue Health, through the engine, on real Redis.

const prefix = uniquePrefix('metrics-dead-letters');
const credentials = { leadPipelineRedis: redisCredential() };
let redis: Redis;

beforeAll(() => {
	redis = testRedis();
});
afterAll(async () => {
	await deletePrefix(redis, prefix);
	redis.disconnect();
});

const webhookItem = (body: IDataObject = {}, query: IDataObject = {}): IDataObject => ({
	headers: {}, params: {}, query, body, webhookUrl: 'http://127.0.0.1:5678/webhook/lead-pipeline/dashboard', executionMode: 'production',
});

async function run(parameters: Record<string, unknown>, input: IDataObject[] = [webhookItem()]) {
	const result = await runWorkflow(metricsWorkflow(parameters), { credentials, input, mode: 'webhook' });
	return { out: errorOf(result) ? [] : outputOf(result, 'Metrics'), error: errorOf(result) };
}

/** Dead letters in the pack's shape (they name their original queue), as the consumer and Webhook Deliver write them. */
async function packDeadLetters(dlq: string, queue: string, n: number) {
	const pipeline = redis.pipeline();
	for (let i = 0; i < n; i++) {
		pipeline.xadd(dlq, '*', 'message', JSON.stringify({ n: i }), 'originalQueue', queue, 'originalId', `${i + 1}-0`, 'group', 'g', 'failedAt', new Date().toISOString(), 'retryCount', '5', 'lastError', 'boom');
	}
	await pipeline.exec();
}

function setup(name: string) {
	const queue = { stream: `${prefix}${name}:queue`, group: 'workers' };
	const own = `${prefix}${name}:DLQOwn`; // pack shape, cap 10
	const template = `${prefix}${name}:DLQTemplate`; // a Redis Stream node's { traceId, error, item } entries
	const empty = `${prefix}${name}:DLQEmpty`;
	const params = (extra: IDataObject = {}) => ({
		operation: 'dashboard',
		queues: { queue: [{ ...queue, dlqStream: '', dlqCap: 10 }] },
		deadLetters: { deadLetter: [{ stream: own, cap: 10 }, { stream: template, cap: 0 }, { stream: empty, cap: 100 }] },
		namespace: `${prefix}${name}`,
		dayBoundary: 'utc',
		thresholds: { dlqSize: 50 },
		...extra,
	});
	return { queue, own, template, empty, params };
}

describe('dead-letter streams on the dashboard', () => {
	test('each is shown with its length, newest entry, cap warning from 80 %, and Replay only where entries name their queue', async () => {
		const s = setup('page');
		await addJson(redis, s.queue.stream, [{ n: 0 }]);
		await redis.xgroup('CREATE', s.queue.stream, s.queue.group, '0');
		await packDeadLetters(s.own, s.queue.stream, 8); // 8 of 10: at 80 %
		await packDeadLetters(dlqStreamName(s.queue.stream, s.queue.group), s.queue.stream, 7); // 7 of 10: below
		await addJson(redis, s.template, [{ traceId: 't1', failedIn: 'crm sync', error: 'refused', item: {} }]);

		const page = await run(s.params());
		expect(page.error).toBeUndefined();
		const html = String(page.out[0].body);
		const section = html.slice(html.indexOf('<h2>Dead letters</h2>'), html.indexOf('<h2>Today'));
		expect(section).toContain('<h2>Dead letters</h2>');
		const rowOf = (stream: string) => section.slice(section.indexOf(`<strong>${stream}</strong>`), section.indexOf('</tr>', section.indexOf(`<strong>${stream}</strong>`)));
		expect(rowOf(s.own)).toContain('Near its cap');
		expect(rowOf(s.own)).toMatch(/<td class="num red">8<br><span class="muted">cap 10<\/span>/);
		expect(rowOf(s.own)).toMatch(/\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC/); // newest entry time
		expect(rowOf(s.own)).toContain(`<input type="hidden" name="action" value="replay"><input type="hidden" name="dlq" value="${s.own}">`);
		expect(rowOf(s.template)).toMatch(/<td class="num">1<\/td>/);
		expect(rowOf(s.template)).not.toContain('<form');
		expect(rowOf(s.template)).toContain('replay them by hand');
		expect(rowOf(s.empty)).toContain('Empty');
		expect(html).toContain('1 dead-letter stream needs attention');
		// The queue's own DLQ at 7 of its cap of 10 is not yet red; its cap is shown.
		expect(html).toMatch(/<td class="num">7<br><span class="muted">[^<]+<\/span><br><span class="muted">cap 10<\/span><\/td>/);

		const json = await run(s.params(), [webhookItem({}, { format: 'json' })]);
		const data = JSON.parse(String(json.out[0].body)) as { health: { deadLetters: IDataObject[]; alerting: boolean } };
		expect(data.health.deadLetters).toEqual([
			expect.objectContaining({ stream: s.own, length: 8, cap: 10, nearCap: true, replayable: true, state: 'red', newestAt: expect.any(String) }),
			expect.objectContaining({ stream: s.template, length: 1, cap: 0, nearCap: false, replayable: false, state: 'ok' }),
			expect.objectContaining({ stream: s.empty, length: 0, newestAt: null, replayable: false, state: 'ok' }),
		]);
		expect(data.health.alerting).toBe(true);

		// One more dead letter in the queue's DLQ reaches 80 % of its cap: the queue turns red.
		await packDeadLetters(dlqStreamName(s.queue.stream, s.queue.group), s.queue.stream, 1);
		const again = JSON.parse(String((await run(s.params(), [webhookItem({}, { format: 'json' })])).out[0].body)) as { health: { queues: IDataObject[] } };
		expect(again.health.queues[0]).toMatchObject({ dlqSize: 8, dlqCap: 10, dlqNearCap: true, state: 'red' });
	});

	test('Replay of a dead-letter stream asks first, then moves each letter back to the queue it names', async () => {
		const s = setup('replay');
		const other = `${prefix}replay:otherQueue`;
		await packDeadLetters(s.own, s.queue.stream, 2);
		await packDeadLetters(s.own, other, 1);
		const ask = await run(s.params(), [webhookItem({ action: 'replay', dlq: s.own })]);
		expect(String(ask.out[0].body)).toContain(`Replay dead letters of ${s.own}?`);
		expect(await redis.xlen(s.own)).toBe(3);
		const token = /name="confirm" value="([0-9a-f]{32})"/.exec(String(ask.out[0].body))?.[1];
		expect(token).toBeDefined();
		const done = await run(s.params(), [webhookItem({ action: 'replay', dlq: s.own, confirm: token! })]);
		expect(done.out[0]).toMatchObject({ statusCode: 200, action: { action: 'replay', stream: s.own, applied: true, result: { replayed: 3, failed: 0 } } });
		expect(String(done.out[0].body)).toContain(`3 dead letters went back to ${s.queue.stream}, ${other}.`);
		expect([await redis.xlen(s.own), await redis.xlen(s.queue.stream), await redis.xlen(other)]).toEqual([0, 2, 1]);

		// A token for one stream does not replay another; pause is not an action on a DLQ; an unknown one is refused.
		await packDeadLetters(s.template, s.queue.stream, 1);
		const askOwn = await run(s.params(), [webhookItem({ action: 'replay', dlq: s.own })]);
		const ownToken = /name="confirm" value="([0-9a-f]{32})"/.exec(String(askOwn.out[0].body))?.[1];
		expect((await run(s.params(), [webhookItem({ action: 'replay', dlq: s.template, confirm: ownToken! })])).out[0].statusCode).toBe(409);
		expect(await redis.xlen(s.template)).toBe(1);
		expect((await run(s.params(), [webhookItem({ action: 'pause', dlq: s.own })])).out[0].statusCode).toBe(400);
		expect((await run(s.params(), [webhookItem({ action: 'replay', dlq: `${prefix}notShown` })])).out[0].statusCode).toBe(400);
	});

	test('Get Queue Health reports them too; without rows the report is as before', async () => {
		const s = setup('health');
		await packDeadLetters(s.own, s.queue.stream, 3);
		const { out, error } = await run({ ...s.params(), operation: 'health' }, [{}]);
		expect(error).toBeUndefined();
		expect(out[0].deadLetters).toEqual([
			expect.objectContaining({ stream: s.own, length: 3, cap: 10, nearCap: false, replayable: true }),
			expect.objectContaining({ stream: s.template, length: 0 }),
			expect.objectContaining({ stream: s.empty, length: 0 }),
		]);
		const plain = await run({ ...s.params(), operation: 'health', deadLetters: {} }, [{}]);
		expect(plain.out[0]).not.toHaveProperty('deadLetters');
	});

	test('a refresh costs the same few O(1) commands per dead-letter stream however many entries it holds', async () => {
		const s = setup('cost');
		const big = s.own;
		const pipeline = redis.pipeline();
		for (let i = 0; i < 5000; i++) pipeline.xadd(big, '*', 'message', '{}', 'originalQueue', s.queue.stream);
		await pipeline.exec();
		// MONITOR runs on a connection of its own that ioredis duplicates from this client: close both.
		const base = testRedis();
		const monitor = await base.monitor();
		const seen: string[][] = [];
		monitor.on('monitor', (_time: string, args: string[]) => {
			if (args.some((a) => a === big || a === s.template || a === s.empty)) seen.push(args);
		});
		await run(s.params());
		await new Promise((resolve) => setTimeout(resolve, 200));
		monitor.disconnect();
		base.disconnect();
		const perStream = (stream: string) => seen.filter((args) => args.includes(stream)).map((args) => args[0].toUpperCase());
		for (const stream of [big, s.template, s.empty]) expect(perStream(stream).sort()).toEqual(['XLEN', 'XRANGE', 'XREVRANGE']);
		for (const args of seen.filter((a) => /^XREV?RANGE$/i.test(a[0]))) expect(args.slice(-2)).toEqual(['COUNT', '1']);
	});
});
