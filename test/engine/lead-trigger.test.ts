import { createHmac } from 'node:crypto';

import type Redis from 'ioredis';

import { closeSharedRedis } from '../../nodes/shared/queue';
import { isTraceId } from '../../nodes/shared/lead/trace';
import { instagramText, instagramWebhook, whatsAppContact, whatsAppText, whatsAppWebhook } from '../support/meta';
import { deletePrefix, redisCredential, testRedis, uniquePrefix } from '../support/redis';
import { readAll, readMessages } from '../support/streams';
import type { WebhookRequestSpec } from '../../scripts/engine-harness/call-webhook';
import { outputOf } from '../../scripts/engine-harness/run-workflow';
import { FORM_SECRET, json, leadTriggerCredentials as credentials, postToLeadTrigger, signedMeta, VERIFY_TOKEN } from './workflows/lead-trigger-workflow';

const prefix = uniquePrefix('lead-trigger');
let redis: Redis;
let n = 0;

beforeAll(() => {
	redis = testRedis();
});
afterAll(async () => {
	await deletePrefix(redis, prefix);
	const replayKeys = await redis.keys('lead:seen:*test-*');
	if (replayKeys.length) await redis.del(...replayKeys);
	await closeSharedRedis();
	redis.disconnect();
});

/** A fresh stream per test, so assertions see only their own leads. */
function streams() {
	n++;
	return { stream: `${prefix}${n}:filterQueue`, rejectedStream: `${prefix}${n}:rejected` };
}

async function post(parameters: Record<string, unknown>, request: WebhookRequestSpec, creds: object = credentials) {
	return await postToLeadTrigger(parameters, request, { credentials: creds });
}

describe('Lead Trigger › website form', () => {
	test('stores the normalized lead before answering 202 { traceId }, and emits it', async () => {
		const s = streams();
		const result = await post(
			{ source: 'website', stream: s.stream },
			json({ name: ' Asha Rao ', phone: '098450 98450', email: 'Asha@Example.com', destination: 'Goa', message: 'Family trip', utm_source: 'google', utm_campaign: 'winter' }),
		);
		expect(result.status).toBe(202);
		const { traceId } = result.json as { traceId: string };
		expect(isTraceId(traceId)).toBe(true);

		const [stored] = await readMessages<{ source: string; traceId: string; leadData: Record<string, unknown> }>(redis, s.stream);
		expect(stored).toEqual({
			source: 'WEBSITE',
			traceId,
			leadData: expect.objectContaining({
				traceId,
				source: { channel: 'WEBSITE' },
				name: 'Asha Rao',
				phone: '+919845098450',
				waId: '919845098450',
				email: 'asha@example.com',
				destination: 'Goa',
				message: 'Family trip',
				utm: { source: 'google', campaign: 'winter' },
				receivedAt: expect.any(String),
				raw: expect.objectContaining({ name: ' Asha Rao ' }),
			}),
		});
		expect(outputOf(result.run!, 'Leads')).toEqual([stored.leadData]);
	});

	test('urlencoded forms with mapped field names', async () => {
		const s = streams();
		const result = await post(
			{ source: 'website', stream: s.stream, formFields: { name: 'full_name', phone: 'mobile' } },
			{ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'full_name=Ben+Ode&mobile=%2B44+7911+123456&email=ben%40example.com' },
		);
		expect(result.status).toBe(202);
		const [stored] = await readMessages<{ leadData: Record<string, unknown> }>(redis, s.stream);
		expect(stored.leadData).toMatchObject({ name: 'Ben Ode', phone: '+447911123456', email: 'ben@example.com' });
	});

	test('invalid input: 400 listing each bad field, nothing stored, no execution', async () => {
		const s = streams();
		const result = await post({ source: 'website', stream: s.stream }, json({ name: 'X', phone: '12', email: 'nope' }));
		expect(result.status).toBe(400);
		expect(result.json).toEqual({
			error: 'Invalid lead',
			errors: [
				{ field: 'phone', message: expect.stringMatching(/too short/) },
				{ field: 'email', message: 'must be an email address' },
			],
		});
		expect(await redis.exists(s.stream)).toBe(0);
		expect(result.run).toBeUndefined();
	});

	test('content types and bodies it cannot read are 4xx, never 5xx', async () => {
		const s = streams();
		const p = { source: 'website', stream: s.stream };
		expect((await post(p, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'hi' })).status).toBe(415);
		expect((await post(p, { method: 'POST', headers: {}, body: 'hi' })).status).toBe(415);
		expect((await post(p, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":' })).status).toBe(400);
		expect((await post(p, json([1, 2]))).status).toBe(400);
		expect((await post(p, json('just a string'))).status).toBe(400);
	});

	test('shared-secret and HMAC authentication', async () => {
		const s = streams();
		const lead = { name: 'A', email: 'a@example.com' };
		const shared = { source: 'website', stream: s.stream, authentication: 'sharedSecret' };
		expect((await post(shared, json(lead))).status).toBe(401);
		expect((await post(shared, json(lead, { 'X-Lead-Signature': 'wrong' }))).status).toBe(401);
		expect((await post(shared, json(lead, { 'X-Lead-Signature': FORM_SECRET }))).status).toBe(202);

		const hmac = { source: 'website', stream: s.stream, authentication: 'hmac' };
		const raw = JSON.stringify(lead);
		const signature = createHmac('sha256', FORM_SECRET).update(raw).digest('hex');
		const signed = { method: 'POST' as const, headers: { 'content-type': 'application/json', 'x-lead-signature': `sha256=${signature}` }, body: raw };
		expect((await post(hmac, signed)).status).toBe(202);
		expect((await post(hmac, { ...signed, body: JSON.stringify({ ...lead, name: 'B' }) })).status).toBe(401);
		expect(await redis.xlen(s.stream)).toBe(2);
	});

	test('a filled honeypot is answered like a success, not queued, and kept in the rejected stream', async () => {
		const s = streams();
		const result = await post(
			{ source: 'website', stream: s.stream, honeypotField: 'website', options: { rejectedStream: s.rejectedStream } },
			json({ name: 'Bot', email: 'bot@spam.example', website: 'http://spam' }),
		);
		expect(result.status).toBe(202);
		expect(isTraceId((result.json as { traceId: string }).traceId)).toBe(true);
		expect(await redis.exists(s.stream)).toBe(0);
		expect(result.run).toBeUndefined();
		expect(await readMessages(redis, s.rejectedStream)).toEqual([
			{
				reason: 'honeypot',
				detail: 'honeypot field "website" was filled',
				source: { channel: 'WEBSITE' },
				errors: [],
				lead: expect.objectContaining({ email: 'bot@spam.example', raw: { name: 'Bot', email: 'bot@spam.example', website: 'http://spam' } }),
				rejectedAt: expect.any(String),
			},
		]);
	});

	test('a retried request with the same Idempotency-Key gets the first trace id and stores nothing new', async () => {
		const s = streams();
		const request = json({ name: 'A', email: 'a@example.com' }, { 'Idempotency-Key': `test-${prefix}-form-1` });
		const first = await post({ source: 'website', stream: s.stream }, request);
		const second = await post({ source: 'website', stream: s.stream }, request);
		expect(second.json).toEqual({ traceId: (first.json as { traceId: string }).traceId, duplicate: true });
		expect(await redis.xlen(s.stream)).toBe(1);
		expect(second.run).toBeUndefined();
	});

	test.each([
		['host/port, nothing listening', { ...redisCredential(), port: 1, username: 'lead-user', password: 'pw-never-shown' }],
		['URL, nothing listening', { connectionType: 'url', url: 'redis://lead-user:pw-never-shown@127.0.0.1:1/0' }],
	])('Redis down (%s): 503, nothing emitted, the password in no answer, log line or output', async (_case, redisCred) => {
		const s = streams();
		const down = { ...credentials, leadPipelineRedis: redisCred };
		const results = [
			await post({ source: 'website', stream: s.stream }, json({ name: 'A', email: 'a@example.com' }), down),
			await post({ source: 'website', stream: s.stream, authentication: 'sharedSecret' }, { method: 'GET', query: { importId: 'x' }, headers: { 'X-Lead-Signature': FORM_SECRET } }, down),
		];
		for (const result of results) {
			expect(result.status).toBe(503);
			expect(result.run).toBeUndefined();
			// The node did say what went wrong (so these lines are where a leak would show)…
			expect(result.logs.join('\n')).toMatch(/Redis/);
			// …and nowhere a person or a log collector can read does the password appear.
			expect([result.text, ...result.logs].join('\n')).not.toContain('pw-never-shown');
		}
	});

	test('Enqueue Only stores and answers without starting an execution', async () => {
		const s = streams();
		const result = await post({ source: 'website', stream: s.stream, enqueueOnly: true }, json({ name: 'A', email: 'a@example.com' }));
		expect(result.status).toBe(202);
		expect(result.run).toBeUndefined();
		expect(await redis.xlen(s.stream)).toBe(1);
	});
});

describe('Lead Trigger › bulk import', () => {
	test('1,000 rows with 3 bad ones: 997 queued in batches, status lists the bad indices; re-posting adds nothing', async () => {
		const s = streams();
		const importId = `test-${prefix}-import`;
		const bad = new Set([10, 500, 999]);
		const leads = Array.from({ length: 1000 }, (_, i) => (bad.has(i) ? { name: `Row ${i}`, phone: 'nope' } : { name: `Row ${i}`, email: `row${i}@example.com` }));
		const params = { source: 'website', stream: s.stream, enqueueOnly: true, authentication: 'sharedSecret' };
		const auth = { 'X-Lead-Signature': FORM_SECRET };
		const result = await post(params, json({ importId, leads }, auth));
		expect(result.status).toBe(200);
		expect(result.json).toMatchObject({ importId, status: 'completed', total: 1000, processed: 1000, successful: 997, failed: 3 });
		expect((result.json as { errors: Array<{ index: number }> }).errors.map((e) => e.index)).toEqual([10, 500, 999]);
		expect(await redis.xlen(s.stream)).toBe(997);

		const status = await post(params, { method: 'GET', query: { importId }, headers: auth });
		expect(status.json).toMatchObject({ importId, status: 'completed', successful: 997, failed: 3 });
		expect(await redis.ttl(`import:job:${importId}`)).toBeGreaterThan(3500);

		await redis.del(`import:job:${importId}`);
		const again = await post(params, json({ importId, leads }, auth));
		// Queued by the first post: counted as duplicates, not as queued by this one.
		expect(again.json).toMatchObject({ status: 'completed', successful: 0, duplicates: 997, failed: 3 });
		expect(await redis.xlen(s.stream)).toBe(997);
		await redis.del(`import:job:${importId}`, `import:job:${importId}:errors`, `import:content:${importId}`);
		const keys = await redis.keys(`lead:seen:import:${encodeURIComponent(importId)}:*`);
		if (keys.length) await redis.del(...keys);
	});

	test('GET for an unknown import is 404', async () => {
		const result = await post({ source: 'website', authentication: 'sharedSecret' }, { method: 'GET', query: { importId: 'no-such-import' }, headers: { 'X-Lead-Signature': FORM_SECRET } });
		expect(result.status).toBe(404);
	});
});

describe('Lead Trigger › WhatsApp Cloud API', () => {
	test('verification handshake: the challenge as text/plain for the right token, 403 otherwise', async () => {
		const ok = await post({ source: 'whatsapp' }, { method: 'GET', query: { 'hub.mode': 'subscribe', 'hub.verify_token': VERIFY_TOKEN, 'hub.challenge': '1158201444' } });
		expect([ok.status, ok.text, ok.headers['content-type']]).toEqual([200, '1158201444', 'text/plain; charset=utf-8']);
		const bad = await post({ source: 'whatsapp' }, { method: 'GET', query: { 'hub.mode': 'subscribe', 'hub.verify_token': 'guess', 'hub.challenge': '1' } });
		expect(bad.status).toBe(403);
	});

	test('each message becomes a lead (phone from wa_id, name from the profile); statuses are not leads', async () => {
		const s = streams();
		const payload = whatsAppWebhook({
			contacts: [whatsAppContact('919845098450', 'Asha'), whatsAppContact('447911123456', 'Ben')],
			messages: [whatsAppText('919845098450', `wamid.test-${prefix}-1`, 'Goa packages?'), whatsAppText('447911123456', `wamid.test-${prefix}-2`, 'Hi')],
			statuses: [{ id: 'wamid.out', status: 'delivered', timestamp: '1739321024', recipient_id: '919845098450' }],
		});
		const result = await post({ source: 'whatsapp', stream: s.stream }, signedMeta(payload));
		expect([result.status, result.text]).toEqual([200, 'EVENT_RECEIVED']);
		const leads = outputOf(result.run!, 'Leads');
		expect(leads).toEqual([
			expect.objectContaining({ name: 'Asha', phone: '+919845098450', waId: '919845098450', message: 'Goa packages?', source: { channel: 'WHATSAPP', id: '106540352242922', messageId: `wamid.test-${prefix}-1` } }),
			expect.objectContaining({ name: 'Ben', phone: '+447911123456', message: 'Hi' }),
		]);
		expect(outputOf(result.run!, 'Lead Trigger', 2)).toEqual([]);
		expect((await readMessages<{ traceId: string }>(redis, s.stream)).map((m) => m.traceId)).toEqual(leads.map((l) => l.traceId));
	});

	test('Emit Events puts delivery statuses on the Events output', async () => {
		const s = streams();
		const payload = whatsAppWebhook({ statuses: [{ id: 'wamid.out', status: 'read', timestamp: '1', recipient_id: '919845098450' }] });
		const result = await post({ source: 'whatsapp', stream: s.stream, emitEvents: true }, signedMeta(payload));
		expect(outputOf(result.run!, 'Events')).toEqual([expect.objectContaining({ kind: 'status', status: 'read', id: 'wamid.out' })]);
		expect(await redis.exists(s.stream)).toBe(0);
	});

	test('with Enqueue Only, leads are only queued but delivery statuses still reach the Events output (they are stored nowhere else)', async () => {
		const s = streams();
		const payload = whatsAppWebhook({
			contacts: [whatsAppContact('919845098450', 'Asha')],
			messages: [whatsAppText('919845098450', `wamid.eq-${s.stream}`, 'hi')],
			statuses: [{ id: 'wamid.sent-1', status: 'delivered', timestamp: '1', recipient_id: '919845098450' }],
		});
		const result = await post({ source: 'whatsapp', stream: s.stream, emitEvents: true, enqueueOnly: true }, signedMeta(payload));
		expect(result.status).toBe(200);
		expect(await redis.xlen(s.stream)).toBe(1);
		expect(outputOf(result.run!, 'Events')).toEqual([expect.objectContaining({ kind: 'status', status: 'delivered', id: 'wamid.sent-1' })]);
		expect(outputOf(result.run!, 'Lead Trigger', 0)).toEqual([]);

		const onlyLeads = await post(
			{ source: 'whatsapp', stream: s.stream, emitEvents: true, enqueueOnly: true },
			signedMeta(whatsAppWebhook({ contacts: [whatsAppContact('919845098451', 'B')], messages: [whatsAppText('919845098451', `wamid.eq2-${s.stream}`, 'hi')] })),
		);
		expect(onlyLeads.run).toBeUndefined();
	});

	test('a bad or missing signature is 401 and nothing is stored or emitted', async () => {
		const s = streams();
		const payload = whatsAppWebhook({ contacts: [whatsAppContact('919845098450', 'A')], messages: [whatsAppText('919845098450', 'wamid.x', 'hi')] });
		const forged = await post({ source: 'whatsapp', stream: s.stream }, signedMeta(payload, 'someone-else'));
		const unsigned = await post({ source: 'whatsapp', stream: s.stream }, json(payload));
		const tampered = signedMeta(payload);
		tampered.body = String(tampered.body).replace('hi', 'ho');
		expect([forged.status, unsigned.status, (await post({ source: 'whatsapp', stream: s.stream }, tampered)).status]).toEqual([401, 401, 401]);
		expect(forged.run).toBeUndefined();
		expect(await redis.exists(s.stream)).toBe(0);
	});

	test('a replayed wamid does not create a second lead', async () => {
		const s = streams();
		const payload = whatsAppWebhook({ contacts: [whatsAppContact('919845098450', 'A')], messages: [whatsAppText('919845098450', `wamid.test-${prefix}-replay`, 'hi')] });
		const first = await post({ source: 'whatsapp', stream: s.stream }, signedMeta(payload));
		const replay = await post({ source: 'whatsapp', stream: s.stream }, signedMeta(payload));
		expect(replay.status).toBe(200);
		expect(outputOf(first.run!, 'Leads')).toHaveLength(1);
		expect(replay.run).toBeUndefined();
		expect(await redis.xlen(s.stream)).toBe(1);
	});

	test('a message that cannot become a lead is kept in the rejected stream and on the Rejected output', async () => {
		const s = streams();
		const payload = whatsAppWebhook({ messages: [{ id: `wamid.test-${prefix}-nofrom`, type: 'text', text: { body: 'who am I' }, timestamp: '1' }] });
		const result = await post({ source: 'whatsapp', stream: s.stream, options: { rejectedStream: s.rejectedStream } }, signedMeta(payload));
		expect(result.status).toBe(200);
		const [kept] = await readMessages<Record<string, unknown>>(redis, s.rejectedStream);
		// One entry shape for every rejection (the honeypot test above has the same keys).
		expect(kept).toEqual({
			reason: 'invalidLead',
			detail: expect.stringMatching(/^phone: .*needs a phone/),
			source: { channel: 'WHATSAPP', id: '106540352242922', messageId: `wamid.test-${prefix}-nofrom` },
			errors: [{ field: 'phone', message: expect.stringMatching(/needs a phone/) }],
			lead: expect.objectContaining({ message: 'who am I' }),
			rejectedAt: expect.any(String),
		});
		expect(outputOf(result.run!, 'Rejected')).toEqual([kept]);
	});

	test('Auto-detect routes a WhatsApp payload through signature verification', async () => {
		const s = streams();
		const payload = whatsAppWebhook({ contacts: [whatsAppContact('919845098450', 'A')], messages: [whatsAppText('919845098450', `wamid.test-${prefix}-auto`, 'hi')] });
		expect((await post({ source: 'auto', stream: s.stream }, json(payload))).status).toBe(401);
		expect((await post({ source: 'auto', stream: s.stream }, signedMeta(payload))).status).toBe(200);
		expect(await redis.xlen(s.stream)).toBe(1);
	});
});

describe('Lead Trigger › Instagram and bots', () => {
	test('Instagram DMs become leads with the user id; a phone in the text is read; echoes are not leads', async () => {
		const s = streams();
		const payload = instagramWebhook([
			instagramText('6574091425943491', `m_test-${prefix}-1`, 'Price for Goa? call me on 98450 98450'),
			{ ...instagramText('17841405822304914', `m_test-${prefix}-2`, 'Thanks!'), message: { mid: 'm_echo', text: 'Thanks!', is_echo: true } },
		]);
		const result = await post({ source: 'instagram', stream: s.stream }, signedMeta(payload));
		expect(result.status).toBe(200);
		expect(outputOf(result.run!, 'Leads')).toEqual([
			expect.objectContaining({
				source: { channel: 'INSTAGRAM_BOT', id: '17841405822304914', messageId: `m_test-${prefix}-1` },
				instagramUserId: '6574091425943491',
				phone: '+919845098450',
				message: 'Price for Goa? call me on 98450 98450',
			}),
		]);
		expect((await readAll(redis, s.stream)).map((e) => JSON.parse(e.fields.message).leadData.instagramUserId)).toEqual(['6574091425943491']);
	});

	test('the generic bot JSON becomes a WHATSAPP_BOT lead with the answers as its message', async () => {
		const s = streams();
		const result = await post(
			{ source: 'whatsappBot', stream: s.stream },
			json({ botId: 'travel-bot', messageId: `test-${prefix}-bot-1`, name: 'Chen', phone: '+65 8123 4567', answers: { destination: 'Bali', travellers: 2 } }),
		);
		expect(result.status).toBe(202);
		expect(outputOf(result.run!, 'Leads')).toEqual([
			expect.objectContaining({
				source: { channel: 'WHATSAPP_BOT', id: 'travel-bot', messageId: `test-${prefix}-bot-1` },
				name: 'Chen',
				phone: '+6581234567',
				destination: 'Bali',
				message: 'destination: Bali\ntravellers: 2',
			}),
		]);
	});
});
