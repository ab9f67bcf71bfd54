import type Redis from 'ioredis';

import { closeSharedRedis } from '../../nodes/shared/queue';
import { deletePrefix, testRedis, uniquePrefix } from '../support/redis';
import { readMessages } from '../support/streams';
import { outputOf } from '../../scripts/engine-harness/run-workflow';
import { postToLeadTrigger, signedMeta } from './workflows/lead-trigger-workflow';

// Issue 25 item 10: Instagram webhooks for comments, mentions and (from the app dashboard's Test
// button) messages arrive as entry[].changes[] {field, value}, not entry[].messaging[]. They were
// answered 200 EVENT_RECEIVED and dropped. Now a change with a person and a text is a lead; one the
// trigger cannot make a lead of is kept in the rejected stream with the reason — never dropped.
const prefix = uniquePrefix('lead-trigger-ig-changes');
const ACCOUNT = '17841405822304914';
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

const changes = (...list: Array<{ field: string; value: unknown }>) => ({ object: 'instagram', entry: [{ id: ACCOUNT, time: 1739321024, changes: list }] });

async function post(payload: unknown, s = streams()) {
	const result = await postToLeadTrigger({ source: 'instagram', stream: s.stream, options: { rejectedStream: s.rejectedStream } }, signedMeta(payload));
	return { result, s };
}

type Stored = { source: string; leadData: Record<string, unknown> };

describe('Lead Trigger › Instagram changes[] payloads', () => {
	test('a "messages" change (what the app dashboard\'s Test button sends) becomes an Instagram lead', async () => {
		const mid = `m_${prefix}msg`;
		const { result, s } = await post(
			changes({ field: 'messages', value: { sender: { id: '6574091425943491' }, recipient: { id: ACCOUNT }, timestamp: '1527459824', message: { mid, text: 'Call me 98450 98450' } } }),
		);
		expect([result.status, result.text]).toEqual([200, 'EVENT_RECEIVED']);
		const stored = await readMessages<Stored>(redis, s.stream);
		expect(stored).toEqual([
			expect.objectContaining({
				source: 'INSTAGRAM_BOT',
				leadData: expect.objectContaining({ instagramUserId: '6574091425943491', phone: '+919845098450', source: expect.objectContaining({ messageId: mid, id: ACCOUNT }) }),
			}),
		]);
		expect(outputOf(result.run!, 'Leads')).toEqual([stored[0].leadData]);
	});

	test('a "comments" change becomes a lead keyed by the comment id: Meta\'s retry of it is not stored twice', async () => {
		const s = streams();
		const comment = { from: { id: '232323232', username: 'asha.k' }, media: { id: '123123123', media_product_type: 'FEED' }, id: `c_${prefix}1`, text: 'Price? my number 9845098450' };
		const payload = changes({ field: 'comments', value: comment });
		expect((await post(payload, s)).result.status).toBe(200);
		expect((await post(payload, s)).result.status).toBe(200);
		const stored = await readMessages<Stored>(redis, s.stream);
		expect(stored).toHaveLength(1);
		expect(stored[0]).toMatchObject({
			source: 'INSTAGRAM_BOT',
			leadData: { instagramUserId: '232323232', phone: '+919845098450', message: 'Price? my number 9845098450', source: { messageId: comment.id } },
		});
	});

	test('the business account\'s own comment (a reply) is an event, not a lead', async () => {
		const { result, s } = await post(changes({ field: 'comments', value: { from: { id: ACCOUNT, username: 'shop' }, id: `c_${prefix}own`, text: 'DM us' } }));
		expect(result.status).toBe(200);
		expect(await redis.exists(s.stream)).toBe(0);
		expect(await redis.exists(s.rejectedStream)).toBe(0);
	});

	test.each([
		['mentions', { media_id: '17887498072083520', comment_id: '17887498072083521' }, /mentions/],
		['leadgen', { leadgen_id: '444444444', form_id: '4444', page_id: '44', created_time: 1739321024 }, /leadgen.*444444444/],
		['story_insights', { media_id: '1', impressions: 4 }, /story_insights/],
	])('a "%s" change is kept in the rejected stream with the reason, not answered 200 and dropped', async (field, value, detail) => {
		const payload = changes({ field, value });
		const { result, s } = await post(payload);
		expect(result.status).toBe(200);
		expect(await redis.exists(s.stream)).toBe(0);
		const kept = await readMessages<Record<string, unknown>>(redis, s.rejectedStream);
		expect(kept).toEqual([expect.objectContaining({ reason: 'unsupportedPayload', detail: expect.stringMatching(detail), lead: { raw: { field, value } } })]);
		expect(outputOf(result.run!, 'Rejected')).toEqual(kept);
	});

	test('an Instagram payload with nothing to read is kept in the rejected stream, not answered 200 and dropped', async () => {
		const payload = { object: 'instagram', entry: [{ id: ACCOUNT, time: 1, standby: [{ sender: { id: '1' } }] }] };
		const { result, s } = await post(payload);
		expect(result.status).toBe(200);
		const kept = await readMessages<Record<string, unknown>>(redis, s.rejectedStream);
		expect(kept).toEqual([expect.objectContaining({ reason: 'unsupportedPayload', detail: expect.stringMatching(/no entry\[\]\.messaging\[\] or entry\[\]\.changes\[\]/) })]);
	});

	test('messaging[] and changes[] in one entry: both are read', async () => {
		const payload = {
			object: 'instagram',
			entry: [
				{
					id: ACCOUNT,
					time: 1,
					messaging: [{ sender: { id: '111' }, recipient: { id: ACCOUNT }, timestamp: 1, message: { mid: `m_${prefix}both`, text: 'hi' } }],
					changes: [{ field: 'comments', value: { from: { id: '222' }, id: `c_${prefix}both`, text: 'hello' } }],
				},
			],
		};
		const { s } = await post(payload);
		const stored = await readMessages<Stored>(redis, s.stream);
		expect(stored.map((m) => m.leadData.instagramUserId).sort()).toEqual(['111', '222']);
	});
});
