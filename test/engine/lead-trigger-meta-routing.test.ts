import type Redis from 'ioredis';

import { closeSharedRedis } from '../../nodes/shared/queue';
import { instagramText, instagramWebhook, whatsAppContact, whatsAppText, whatsAppWebhook } from '../support/meta';
import { deletePrefix, testRedis, uniquePrefix } from '../support/redis';
import { readMessages } from '../support/streams';
import { outputOf } from '../../scripts/engine-harness/run-workflow';
import { json, postToLeadTrigger, signedMeta } from './workflows/lead-trigger-workflow';

// Meta apps often point WhatsApp and Instagram at one callback URL: a payload is read by its
// `object`, whatever the trigger's Source says, and never answered 200 and dropped.
const prefix = uniquePrefix('lead-trigger-meta');
let redis: Redis;
let n = 0;

beforeAll(() => {
	redis = testRedis();
});
afterAll(async () => {
	await deletePrefix(redis, prefix);
	const keys = await redis.keys(`lead:seen:*${encodeURIComponent(prefix)}*`);
	if (keys.length) await redis.del(...keys);
	await closeSharedRedis();
	redis.disconnect();
});

function streams() {
	n++;
	return { stream: `${prefix}${n}:filterQueue`, rejectedStream: `${prefix}${n}:rejected` };
}

describe('Lead Trigger › Meta payloads by object', () => {
	test('an Instagram body on a WhatsApp-source trigger becomes an Instagram lead (same app secret)', async () => {
		const s = streams();
		const payload = instagramWebhook([instagramText('6574091425943491', `m_${prefix}1`, 'Goa? 98450 98450')]);
		const params = { source: 'whatsapp', stream: s.stream, options: { rejectedStream: s.rejectedStream } };
		expect((await postToLeadTrigger(params, json(payload))).status).toBe(401);
		const result = await postToLeadTrigger(params, signedMeta(payload));
		expect([result.status, result.text]).toEqual([200, 'EVENT_RECEIVED']);
		const [stored] = await readMessages<{ source: string; leadData: Record<string, unknown> }>(redis, s.stream);
		expect(stored).toMatchObject({ source: 'INSTAGRAM_BOT', leadData: { instagramUserId: '6574091425943491', phone: '+919845098450' } });
		expect(outputOf(result.run!, 'Leads')).toEqual([stored.leadData]);
	});

	test('a WhatsApp body on an Instagram-source trigger becomes a WhatsApp lead', async () => {
		const s = streams();
		const payload = whatsAppWebhook({ contacts: [whatsAppContact('919845098450', 'Asha')], messages: [whatsAppText('919845098450', `wamid.${prefix}2`, 'hi')] });
		const result = await postToLeadTrigger({ source: 'instagram', stream: s.stream }, signedMeta(payload));
		expect(result.status).toBe(200);
		expect(await readMessages(redis, s.stream)).toEqual([expect.objectContaining({ source: 'WHATSAPP' })]);
	});

	test('a verified payload no channel reads (a Facebook Page event) is kept in the rejected stream with the reason', async () => {
		const s = streams();
		const payload = { object: 'page', entry: [{ id: '1', time: 1, messaging: [{ sender: { id: '2' }, message: { mid: 'm.page', text: 'hi' } }] }] };
		const result = await postToLeadTrigger({ source: 'whatsapp', stream: s.stream, options: { rejectedStream: s.rejectedStream } }, signedMeta(payload));
		expect(result.status).toBe(200);
		expect(await redis.exists(s.stream)).toBe(0);
		const kept = await readMessages<Record<string, unknown>>(redis, s.rejectedStream);
		expect(kept).toEqual([
			expect.objectContaining({ reason: 'unsupportedPayload', detail: expect.stringMatching(/"page"/), lead: { raw: payload } }),
		]);
		expect(outputOf(result.run!, 'Rejected')).toEqual(kept);
	});

	test('a signed Meta body on a Website Form trigger is refused with what to change, not taken as a form', async () => {
		const s = streams();
		const payload = instagramWebhook([instagramText('6574091425943491', `m_${prefix}4`, 'hi')]);
		const result = await postToLeadTrigger({ source: 'website', stream: s.stream }, signedMeta(payload));
		expect(result.status).toBe(400);
		expect((result.json as { error: string }).error).toMatch(/Meta webhook.*"instagram".*Source/);
		expect(await redis.exists(s.stream)).toBe(0);
	});
});
