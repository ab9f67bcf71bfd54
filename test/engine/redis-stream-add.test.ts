import type Redis from 'ioredis';

import { fieldsToObject } from '../../nodes/shared/queue/streams';
import { deletePrefix, redisCredential, testRedis, uniquePrefix } from '../support/redis';
import { errorOf, outputOf, runWorkflow, type WorkflowJson } from '../../scripts/engine-harness/run-workflow';
import manualToStreamAdd from './workflows/manual-to-stream-add.json';

const prefix = uniquePrefix('stream-add');
// A production execution (editor test runs write "<stream>:test": redis-stream-manual.test.ts).
const PRODUCTION = 'trigger' as const;
let redis: Redis;

beforeAll(() => {
	redis = testRedis();
});
afterAll(async () => {
	await deletePrefix(redis, prefix);
	redis.disconnect();
});

function withAddParameters(parameters: Record<string, unknown>): WorkflowJson {
	const workflow = structuredClone(manualToStreamAdd) as unknown as WorkflowJson;
	const add = workflow.nodes.find((n) => n.type === 'n8n-nodes-lead-pipeline.redisStream')!;
	add.parameters = { ...add.parameters, ...parameters } as typeof add.parameters;
	return workflow;
}

async function entries(stream: string) {
	const raw = (await redis.xrange(stream, '-', '+')) as Array<[string, string[]]>;
	return raw.map(([id, fields]) => ({ id, fields: fieldsToObject(fields) }));
}

describe('Redis Stream › Add, through the n8n engine', () => {
	test('writes each item as JSON under "message" and returns the entry ids', async () => {
		const stream = `${prefix}filterQueue`;
		const leads = [
			{ stream, traceId: 'A', leadData: { name: 'Asha', phone: '+919845098450' } },
			{ stream, traceId: 'B', leadData: { name: 'Ben', email: 'ben@example.com' } },
		];
		const run = await runWorkflow(manualToStreamAdd as unknown as WorkflowJson, {
			input: leads,
			credentials: { leadPipelineRedis: redisCredential() }, mode: PRODUCTION,
		});

		expect(errorOf(run)).toBeUndefined();
		const out = outputOf(run, 'Add to filter queue');
		const stored = await entries(stream);
		expect(stored.map((e) => e.id)).toEqual(out.map((o) => o.id));
		expect(stored.map((e) => JSON.parse(e.fields.message))).toEqual(leads);
		expect(Object.keys(stored[0].fields)).toEqual(['message']);
		expect(out[1]).toMatchObject({ stream, message: leads[1] });
	});

	test('one entry for all items writes a single JSON array', async () => {
		const stream = `${prefix}batch`;
		const run = await runWorkflow(withAddParameters({ stream, entryPer: 'batch' }), {
			input: [{ n: 1 }, { n: 2 }, { n: 3 }],
			credentials: { leadPipelineRedis: redisCredential() }, mode: PRODUCTION,
		});
		const out = outputOf(run, 'Add to filter queue');
		expect(out).toHaveLength(1);
		const stored = await entries(stream);
		expect(stored).toHaveLength(1);
		expect(JSON.parse(stored[0].fields.message)).toEqual([{ n: 1 }, { n: 2 }, { n: 3 }]);
	});

	test('custom message JSON is evaluated per item', async () => {
		const stream = `${prefix}custom`;
		const run = await runWorkflow(
			withAddParameters({ stream, payload: 'custom', message: '={{ { "traceId": $json.id, "source": "WEBSITE" } }}' }),
			{ input: [{ id: 'T1' }, { id: 'T2' }], credentials: { leadPipelineRedis: redisCredential() }, mode: PRODUCTION },
		);
		expect(errorOf(run)).toBeUndefined();
		const stored = await entries(stream);
		expect(stored.map((e) => JSON.parse(e.fields.message))).toEqual([
			{ traceId: 'T1', source: 'WEBSITE' },
			{ traceId: 'T2', source: 'WEBSITE' },
		]);
	});

	test('Max Length trims only entries every group has acknowledged (exact trim)', async () => {
		const stream = `${prefix}capped`;
		const first = Array.from({ length: 20 }, (_, i) => ({ i }));
		await runWorkflow(withAddParameters({ stream }), { input: first, credentials: { leadPipelineRedis: redisCredential() }, mode: PRODUCTION });
		// The group has taken 0–9 and acknowledged 0–4: 5–9 pending, 10–19 undelivered.
		await redis.xgroup('CREATE', stream, 'g', '0');
		const [[, delivered]] = (await redis.xreadgroup('GROUP', 'g', 'c', 'COUNT', 10, 'STREAMS', stream, '>')) as Array<[string, Array<[string]>]>;
		await redis.xack(stream, 'g', ...delivered.slice(0, 5).map(([id]) => id));
		await runWorkflow(withAddParameters({ stream, addOptions: { maxLen: 5, exactTrim: true } }), {
			input: [{ i: 20 }],
			credentials: { leadPipelineRedis: redisCredential() }, mode: PRODUCTION,
		});
		const stored = await entries(stream);
		expect(stored.map((e) => JSON.parse(e.fields.message).i)).toEqual(Array.from({ length: 16 }, (_, i) => i + 5));
	});

	test('a key of the wrong type fails the node with the stream named, and writes nothing', async () => {
		const stream = `${prefix}not-a-stream`;
		await redis.set(stream, 'plain string');
		const run = await runWorkflow(withAddParameters({ stream }), {
			input: [{ a: 1 }],
			credentials: { leadPipelineRedis: redisCredential() }, mode: PRODUCTION,
		});
		expect(errorOf(run)).toMatch(/refused the entry for .*not-a-stream.*WRONGTYPE/);
		expect(await redis.get(stream)).toBe('plain string');
	});

	test('invalid custom JSON is a clear error on that item; with Continue On Fail the rest are written', async () => {
		const stream = `${prefix}partial`;
		const workflow = withAddParameters({ stream, payload: 'custom', message: '={{ $json.raw }}' });
		workflow.nodes[1].onError = 'continueRegularOutput';
		const run = await runWorkflow(workflow, {
			input: [{ raw: '{"ok":1}' }, { raw: '{not json' }, { raw: '{"ok":3}' }],
			credentials: { leadPipelineRedis: redisCredential() }, mode: PRODUCTION,
		});
		const out = outputOf(run, 'Add to filter queue');
		// The failed item goes on with its own data next to the error (Continue, regular output).
		expect(out.filter((o) => o.error)).toEqual([
			{ raw: '{not json', error: expect.stringMatching(/Message JSON is not valid JSON/) },
		]);
		expect((await entries(stream)).map((e) => JSON.parse(e.fields.message))).toEqual([{ ok: 1 }, { ok: 3 }]);
	});

	test('Redis unreachable: the node fails with a connection error that carries no password', async () => {
		const run = await runWorkflow(withAddParameters({ stream: `${prefix}x` }), {
			input: [{ a: 1 }],
			credentials: { leadPipelineRedis: { ...redisCredential(), port: 1, password: 's3cret-pw' } },
		});
		const error = run.data.resultData.error!;
		expect(error.message).toBe('Could not connect to Redis');
		expect(error.description).toBe('connect ECONNREFUSED 127.0.0.1:1');
		expect(JSON.stringify(run.data.resultData)).not.toContain('s3cret-pw');
	});
});
