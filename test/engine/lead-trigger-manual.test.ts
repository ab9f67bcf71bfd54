import type Redis from 'ioredis';

import { closeSharedRedis } from '../../nodes/shared/queue';
import { whatsAppWebhook } from '../support/meta';
import { deletePrefix, testRedis, uniquePrefix } from '../support/redis';
import { readMessages } from '../support/streams';
import { outputOf } from '../../scripts/engine-harness/run-workflow';
import { FORM_SECRET, json, postToLeadTrigger, signedMeta } from './workflows/lead-trigger-workflow';

// The editor's test URL (/webhook-test/…, mode "manual") shows the items and never touches the
// production stream, rejected stream or replay history.
const prefix = uniquePrefix('lead-trigger-manual');
let redis: Redis;
let n = 0;

beforeAll(() => {
	redis = testRedis();
});
afterAll(async () => {
	await deletePrefix(redis, prefix);
	const keys = [...(await redis.keys(`lead:seen:*${encodeURIComponent(prefix)}*`)), ...(await redis.keys(`import:*${prefix}*`))];
	if (keys.length) await redis.del(...keys);
	await closeSharedRedis();
	redis.disconnect();
});

function streams() {
	n++;
	return { stream: `${prefix}${n}:filterQueue`, rejectedStream: `${prefix}${n}:rejected` };
}

const manual = { mode: 'manual' as const };

describe('Lead Trigger › editor test runs', () => {
	test('Enqueue Only still returns the execution data; the lead goes to <stream>:test, not the stream', async () => {
		const s = streams();
		const result = await postToLeadTrigger({ source: 'website', stream: s.stream, enqueueOnly: true }, json({ name: 'T', email: 't@example.com' }), manual);
		expect(result.status).toBe(202);
		const [lead] = outputOf(result.run!, 'Leads');
		expect(lead).toMatchObject({ name: 'T', testRun: true });
		expect(await redis.exists(s.stream)).toBe(0);
		expect(await readMessages(redis, `${s.stream}:test`)).toEqual([expect.objectContaining({ traceId: lead.traceId })]);
	});

	test('"Test Runs Write To: Nothing" writes nowhere and still shows the lead', async () => {
		const s = streams();
		const result = await postToLeadTrigger(
			{ source: 'website', stream: s.stream, enqueueOnly: true, options: { testRunsWriteTo: 'nothing' } },
			json({ name: 'T', email: 't@example.com' }),
			manual,
		);
		expect(result.status).toBe(202);
		expect(outputOf(result.run!, 'Leads')).toHaveLength(1);
		expect(await redis.exists(s.stream, `${s.stream}:test`)).toBe(0);
	});

	test('rejected entries of a test run go to <rejected stream>:test', async () => {
		const s = streams();
		const payload = whatsAppWebhook({ messages: [{ id: `wamid.${prefix}nofrom`, type: 'text', text: { body: 'who' }, timestamp: '1' }] });
		const result = await postToLeadTrigger({ source: 'whatsapp', stream: s.stream, enqueueOnly: true, options: { rejectedStream: s.rejectedStream } }, signedMeta(payload), manual);
		expect(outputOf(result.run!, 'Rejected')).toHaveLength(1);
		expect(await redis.exists(s.rejectedStream)).toBe(0);
		expect(await redis.xlen(`${s.rejectedStream}:test`)).toBe(1);
	});

	test('a message id seen in a test run is still a new lead in production', async () => {
		const s = streams();
		const body = { botId: 'travel-bot', messageId: `${prefix}both`, name: 'A', phone: '+6581234567' };
		await postToLeadTrigger({ source: 'whatsappBot', stream: s.stream, enqueueOnly: true }, json(body), manual);
		const production = await postToLeadTrigger({ source: 'whatsappBot', stream: s.stream, enqueueOnly: true }, json(body));
		expect(production.json).not.toHaveProperty('duplicate');
		expect(await redis.xlen(s.stream)).toBe(1);
	});

	test('a bulk import in a test run leaves no production import status', async () => {
		const s = streams();
		const importId = `${prefix}test-import`;
		const result = await postToLeadTrigger(
			{ source: 'website', stream: s.stream, enqueueOnly: true, authentication: 'sharedSecret' },
			json({ importId, leads: [{ name: 'A', email: 'a@example.com' }] }, { 'X-Lead-Signature': FORM_SECRET }),
			manual,
		);
		expect(result.json).toMatchObject({ status: 'completed', successful: 1 });
		expect(await redis.exists(s.stream, `import:job:${importId}`, `import:content:${importId}`)).toBe(0);
		expect(await redis.xlen(`${s.stream}:test`)).toBe(1);
	});
});
