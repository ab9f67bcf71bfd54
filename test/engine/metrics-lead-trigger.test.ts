import type Redis from 'ioredis';

import { closeSharedRedis } from '../../nodes/shared/queue';
import { breakMetrics, countsToday } from '../support/metrics';
import { whatsAppContact, whatsAppText, whatsAppWebhook } from '../support/meta';
import { deletePrefix, testRedis, uniquePrefix } from '../support/redis';
import { eventually } from '../support/streams';
import type { WebhookRequestSpec } from '../../scripts/engine-harness/call-webhook';
import { FORM_SECRET, json, leadTriggerCredentials, postToLeadTrigger, signedMeta } from './workflows/lead-trigger-workflow';

// The Lead Trigger counts received{channel} and rejected{reason} (issue 15), through n8n's webhook path.
const prefix = uniquePrefix('metrics-trigger');
let redis: Redis;
let n = 0;
let ns = '';

beforeAll(() => {
	redis = testRedis();
});
afterAll(async () => {
	await deletePrefix(redis, prefix);
	const replayKeys = await redis.keys(`lead:seen:*${prefix}*`);
	if (replayKeys.length) await redis.del(...replayKeys);
	await closeSharedRedis();
	redis.disconnect();
});

function streams() {
	n++;
	ns = `${prefix}ns${n}`;
	return { stream: `${prefix}${n}:filterQueue`, rejectedStream: `${prefix}${n}:rejected` };
}

const credentials = () => ({ ...leadTriggerCredentials, leadPipelineRedis: { ...leadTriggerCredentials.leadPipelineRedis, namespace: ns } });
const post = (parameters: Record<string, unknown>, request: WebhookRequestSpec, mode?: 'manual') => postToLeadTrigger(parameters, request, { credentials: credentials(), mode });
const sorted = (counts: Record<string, number>) => JSON.stringify(Object.entries(counts).sort());
const counted = (expected: Record<string, number>) => eventually(async () => sorted(await countsToday(redis, ns)) === sorted(expected), 3_000, `counts ${JSON.stringify(expected)}`);
const settle = () => new Promise((resolve) => setTimeout(resolve, 300));

describe('Lead Trigger counts received{channel} and rejected{reason}', () => {
	test('website form with Enqueue Only: each stored lead once; an Idempotency-Key retry is not a second lead', async () => {
		const s = streams();
		const params = { source: 'website', stream: s.stream, enqueueOnly: true };
		expect((await post(params, json({ name: 'Asha', phone: '+919845098450' }))).status).toBe(202);
		const key = { 'Idempotency-Key': `${prefix}key-1` };
		expect((await post(params, json({ name: 'Ben', email: 'ben@example.com' }, key))).status).toBe(202);
		expect((await post(params, json({ name: 'Ben', email: 'ben@example.com' }, key))).json).toMatchObject({ duplicate: true });
		await counted({ 'received|WEBSITE': 2 });
	});

	test('WhatsApp: a redelivered message (same wamid) is counted once; honeypot and unsupported payloads count as rejected by reason', async () => {
		const s = streams();
		const wamid = `wamid.${prefix}1`;
		const body = whatsAppWebhook({ contacts: [whatsAppContact('919845098450', 'Asha')], messages: [whatsAppText('919845098450', wamid, 'Goa please')] });
		const meta = { source: 'whatsapp', stream: s.stream, options: { rejectedStream: s.rejectedStream } };
		await post(meta, signedMeta(body));
		await post(meta, signedMeta(body));
		await post(meta, signedMeta({ object: 'page', entry: [] }));
		await post({ source: 'website', stream: s.stream, honeypotField: 'website', options: { rejectedStream: s.rejectedStream } }, json({ name: 'Bot', phone: '+919845098451', website: 'x' }));
		await counted({ 'received|WHATSAPP': 1, 'rejected|unsupportedPayload': 1, 'rejected|honeypot': 1 });
		expect(await redis.xlen(s.rejectedStream)).toBe(2);
	});

	test('bulk import: the queued rows, once per batch; re-posting the import adds nothing', async () => {
		const s = streams();
		const leads = Array.from({ length: 12 }, (_, i) => (i === 3 ? { name: 'bad', phone: 'nope' } : { name: `Row ${i}`, email: `row${i}@example.com` }));
		const params = { source: 'website', stream: s.stream, enqueueOnly: true, authentication: 'sharedSecret', options: { importBatchSize: 5 } };
		const request = json({ importId: `${prefix}import`, leads }, { 'X-Lead-Signature': FORM_SECRET });
		expect((await post(params, request)).json).toMatchObject({ status: 'completed', successful: 11, failed: 1 });
		await post(params, request);
		await counted({ 'received|WEBSITE': 11 });
	});

	test('editor test runs (the Test URL) and Record Metrics off count nothing', async () => {
		const s = streams();
		await post({ source: 'website', stream: s.stream }, json({ name: 'Asha', phone: '+919845098450' }), 'manual');
		await post({ source: 'website', stream: s.stream, options: { recordMetrics: false } }, json({ name: 'Asha', phone: '+919845098452' }));
		await settle();
		expect(await countsToday(redis, ns)).toEqual({});
		expect(await redis.xlen(s.stream)).toBe(1);
	});

	test('a refused metrics write never fails the lead: still stored and answered 202', async () => {
		const s = streams();
		await breakMetrics(redis, ns);
		const result = await post({ source: 'website', stream: s.stream, enqueueOnly: true }, json({ name: 'Asha', phone: '+919845098453' }));
		expect(result.status).toBe(202);
		expect(await redis.xlen(s.stream)).toBe(1);
		await eventually(async () => result.logs.some((l) => /Lead metrics not recorded: WRONGTYPE/.test(l)), 3_000, 'the warning');
	});
});
