import type Redis from 'ioredis';

import { closeSharedRedis } from '../../nodes/shared/queue';
import { deletePrefix, testRedis, uniquePrefix } from '../support/redis';
import { readMessages } from '../support/streams';
import { FORM_SECRET, json, postToLeadTrigger } from './workflows/lead-trigger-workflow';

const auth = { 'X-Lead-Signature': FORM_SECRET };

// Replay keys: every key is scoped by what it identifies, so one kind of id never swallows another.
const prefix = uniquePrefix('lead-trigger-replay');
let redis: Redis;
let n = 0;

beforeAll(() => {
	redis = testRedis();
});
afterAll(async () => {
	await deletePrefix(redis, prefix);
	const keys = [...(await redis.keys(`lead:seen:*${prefix}*`)), ...(await redis.keys(`import:*${prefix}*`))];
	if (keys.length) await redis.del(...keys);
	await closeSharedRedis();
	redis.disconnect();
});

function stream() {
	n++;
	return `${prefix}${n}:filterQueue`;
}

const rows = (from: number, count: number) =>
	Array.from({ length: count }, (_, i) => ({ name: `Row ${from + i}`, email: `row${from + i}@example.com` }));

describe('Lead Trigger › replay keys', () => {
	test('a second chunk under a used importId is refused with 409, not counted as queued', async () => {
		const s = stream();
		const importId = `${prefix}nightly`;
		const params = { source: 'website', stream: s, enqueueOnly: true, authentication: 'sharedSecret' };
		const first = await postToLeadTrigger(params, json({ importId, leads: rows(0, 3) }, auth));
		expect(first.json).toMatchObject({ status: 'completed', successful: 3 });

		const second = await postToLeadTrigger(params, json({ importId, leads: rows(3, 3) }, auth));
		expect(second.status).toBe(409);
		expect(second.json).toEqual({ error: expect.stringMatching(/already used for a different list of leads.*new importId/) });
		expect(await redis.xlen(s)).toBe(3);
		// Still the first import's status, not overwritten by the refused one.
		const status = await postToLeadTrigger(params, { method: 'GET', query: { importId }, headers: auth });
		expect(status.json).toMatchObject({ status: 'completed', total: 3, successful: 3 });
	});

	test('re-posting the same import after its status expired queues nothing and says so', async () => {
		const s = stream();
		const importId = `${prefix}again`;
		const params = { source: 'website', stream: s, enqueueOnly: true, authentication: 'sharedSecret' };
		await postToLeadTrigger(params, json({ importId, leads: rows(0, 4) }, auth));
		await redis.del(`import:job:${importId}`);
		const again = await postToLeadTrigger(params, json({ importId, leads: rows(0, 4) }, auth));
		expect(again.status).toBe(200);
		expect(again.json).toMatchObject({ status: 'completed', total: 4, processed: 4, successful: 0, duplicates: 4, failed: 0 });
		expect(await redis.xlen(s)).toBe(4);
	});

	test('two bots sending the same messageId are two leads', async () => {
		const s = stream();
		const messageId = `${prefix}session-42`;
		const a = await postToLeadTrigger({ source: 'whatsappBot', stream: s }, json({ botId: 'travel-bot', messageId, name: 'A', phone: '+6581234567' }));
		const b = await postToLeadTrigger({ source: 'whatsappBot', stream: s }, json({ botId: 'visa-bot', messageId, name: 'B', phone: '+6581234568' }));
		expect([a.status, b.status]).toEqual([202, 202]);
		expect(b.json).not.toHaveProperty('duplicate');
		expect((await readMessages<{ leadData: { name: string } }>(redis, s)).map((m) => m.leadData.name)).toEqual(['A', 'B']);
		// The same bot resending it is still a replay.
		const again = await postToLeadTrigger({ source: 'whatsappBot', stream: s }, json({ botId: 'travel-bot', messageId, name: 'A', phone: '+6581234567' }));
		expect(again.json).toEqual({ traceId: (a.json as { traceId: string }).traceId, duplicate: true });
		expect(await redis.xlen(s)).toBe(2);
	});

	test('an Idempotency-Key that looks like an import row is not that row', async () => {
		const s = stream();
		const importId = `${prefix}collide`;
		await postToLeadTrigger({ source: 'website', stream: s, enqueueOnly: true, authentication: 'sharedSecret' }, json({ importId, leads: rows(0, 1) }, auth));
		const form = await postToLeadTrigger(
			{ source: 'website', stream: s },
			json({ name: 'Form', email: 'form@example.com' }, { 'Idempotency-Key': `${importId}:0` }),
		);
		expect(form.status).toBe(202);
		expect(form.json).not.toHaveProperty('duplicate');
		expect(await redis.xlen(s)).toBe(2);
	});

	test('a bot messageId and an Idempotency-Key with the same text do not collide', async () => {
		const s = stream();
		const id = `${prefix}shared-id`;
		await postToLeadTrigger({ source: 'whatsappBot', stream: s }, json({ botId: 'b1', messageId: id, name: 'A', phone: '+6581234567' }));
		const other = await postToLeadTrigger({ source: 'whatsappBot', stream: s }, json({ botId: 'b1', name: 'B', phone: '+6581234569' }, { 'Idempotency-Key': id }));
		expect(other.json).not.toHaveProperty('duplicate');
		expect(await redis.xlen(s)).toBe(2);
	});
});
