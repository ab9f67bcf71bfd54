import type Redis from 'ioredis';

import { closeSharedRedis } from '../../nodes/shared/queue';
import { MESSAGE_FIELD } from '../../nodes/shared/queue/streams';
import { deletePrefix, testRedis, uniquePrefix } from '../support/redis';
import { readMessages } from '../support/streams';
import { json, postToLeadTrigger, signedMeta } from './workflows/lead-trigger-workflow';
import { packNodeTypes } from '../../scripts/engine-harness/run-workflow';

// Issue 9 item 14: the rejected stream (DLQLeadIntake) is read by no group, so a cap there must
// refuse, never trim; a refused rejection is answered 503 (the sender retries), never a 2xx.
const prefix = uniquePrefix('lead-trigger-rejected-cap');
let redis: Redis;
let n = 0;

beforeAll(() => {
	redis = testRedis();
});
afterAll(async () => {
	await deletePrefix(redis, prefix);
	await closeSharedRedis();
	redis.disconnect();
});

function streams() {
	n++;
	return { stream: `${prefix}${n}:filterQueue`, rejectedStream: `${prefix}${n}:rejected` };
}

async function fill(stream: string, count: number) {
	const pipeline = redis.pipeline();
	for (let i = 0; i < count; i++) pipeline.xadd(stream, '*', MESSAGE_FIELD, JSON.stringify({ earlier: i }));
	await pipeline.exec();
}

const pageEvent = (mid: string) => ({ object: 'page', entry: [{ id: '1', time: 1, messaging: [{ sender: { id: '2' }, message: { mid, text: 'hi' } }] }] });

describe('Lead Trigger › Rejected Stream Cap', () => {
	test('the option exists, defaults to 100,000 and says 0 means no cap', () => {
		const options = packNodeTypes().getByNameAndVersion('n8n-nodes-lead-pipeline.leadTrigger').description.properties.find((p) => p.name === 'options');
		const cap = (options?.options as Array<{ name: string; default: unknown; description?: string }>).find((o) => o.name === 'rejectedStreamCap');
		expect(cap).toMatchObject({ default: 100_000, description: expect.stringMatching(/0 = no cap/) });
	});

	test('a honeypot hit at the cap is answered 503, the stream keeps every earlier entry, nothing new is queued', async () => {
		const s = streams();
		await fill(s.rejectedStream, 3);
		const before = await redis.xrange(s.rejectedStream, '-', '+');
		const result = await postToLeadTrigger(
			{ source: 'website', stream: s.stream, honeypotField: 'website', options: { rejectedStream: s.rejectedStream, rejectedStreamCap: 3 } },
			json({ name: 'Bot', phone: '9845098450', website: 'http://spam.example' }),
		);
		expect(result.status).toBe(503);
		expect(JSON.stringify(result.json)).toMatch(/Rejected Stream Cap/);
		expect(await redis.xrange(s.rejectedStream, '-', '+')).toEqual(before);
		expect(await redis.exists(s.stream)).toBe(0);
		expect(result.logs.join('\n')).toMatch(/warn: .*rejected stream .*is at its cap of 3/i);
	});

	test('a Meta payload no channel reads at the cap: 503 so Meta retries, never EVENT_RECEIVED', async () => {
		const s = streams();
		await fill(s.rejectedStream, 2);
		const result = await postToLeadTrigger(
			{ source: 'whatsapp', stream: s.stream, options: { rejectedStream: s.rejectedStream, rejectedStreamCap: 2 } },
			signedMeta(pageEvent('m.cap')),
		);
		expect(result.status).toBe(503);
		expect(result.text).not.toBe('EVENT_RECEIVED');
		expect(await redis.xlen(s.rejectedStream)).toBe(2);
	});

	test('near the cap (90%) the entry is kept, answered as usual, and a warning is logged', async () => {
		const s = streams();
		await fill(s.rejectedStream, 8);
		const result = await postToLeadTrigger(
			{ source: 'whatsapp', stream: s.stream, options: { rejectedStream: s.rejectedStream, rejectedStreamCap: 10 } },
			signedMeta(pageEvent('m.near')),
		);
		expect([result.status, result.text]).toEqual([200, 'EVENT_RECEIVED']);
		expect(await readMessages<{ reason: string }>(redis, s.rejectedStream)).toHaveLength(9);
		expect(result.logs.join('\n')).toMatch(/warn: .*rejected stream .*9 of 10/i);
	});

	test('cap 0 = no cap: a long rejected stream still takes entries', async () => {
		const s = streams();
		await fill(s.rejectedStream, 5);
		const result = await postToLeadTrigger(
			{ source: 'whatsapp', stream: s.stream, options: { rejectedStream: s.rejectedStream, rejectedStreamCap: 0 } },
			signedMeta(pageEvent('m.nocap')),
		);
		expect(result.status).toBe(200);
		expect(await redis.xlen(s.rejectedStream)).toBe(6);
	});

});
