import type Redis from 'ioredis';

import { closeSharedRedis } from '../../nodes/shared/queue';
import { deletePrefix, testRedis, uniquePrefix } from '../support/redis';
import { FORM_SECRET, json, postToLeadTrigger } from './workflows/lead-trigger-workflow';

// Bulk import limits: a cap on rows, capped stored errors, authentication required, no echo of
// submitted values in errors.
const prefix = uniquePrefix('lead-trigger-import');
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

function stream() {
	n++;
	return `${prefix}${n}:filterQueue`;
}
const auth = { 'X-Lead-Signature': FORM_SECRET };
const good = (i: number) => ({ name: `Row ${i}`, email: `row${i}@example.com` });

describe('Lead Trigger › bulk import limits', () => {
	test('an import over the row cap is 413 naming the limit; nothing queued', async () => {
		const s = stream();
		const params = { source: 'website', stream: s, authentication: 'sharedSecret', options: { importMaxRows: 5 } };
		const result = await postToLeadTrigger(params, json({ importId: `${prefix}big`, leads: Array.from({ length: 6 }, (_, i) => good(i)) }, auth));
		expect(result.status).toBe(413);
		expect((result.json as { error: string }).error).toMatch(/at most 5 leads.*has 6/);
		expect(await redis.exists(s)).toBe(0);
		expect(await redis.exists(`import:job:${prefix}big`)).toBe(0);
	});

	test('imports and their status need the trigger\'s authentication', async () => {
		const s = stream();
		const importId = `${prefix}auth`;
		const open = await postToLeadTrigger({ source: 'website', stream: s }, json({ importId, leads: [good(1)] }));
		expect(open.status).toBe(403);
		expect((open.json as { error: string }).error).toMatch(/Authentication/);
		expect(await redis.exists(s)).toBe(0);
		expect((await postToLeadTrigger({ source: 'website', stream: s }, { method: 'GET', query: { importId } })).status).toBe(403);

		const secured = { source: 'website', stream: s, authentication: 'sharedSecret' };
		expect((await postToLeadTrigger(secured, json({ importId, leads: [good(1)] }))).status).toBe(401);
		expect((await postToLeadTrigger(secured, json({ importId, leads: [good(1)] }, auth))).status).toBe(200);
		expect((await postToLeadTrigger(secured, { method: 'GET', query: { importId } })).status).toBe(401);
		const status = await postToLeadTrigger(secured, { method: 'GET', query: { importId }, headers: auth });
		expect([status.status, (status.json as { successful: number }).successful]).toEqual([200, 1]);
	});

	test('stored errors are capped at 1,000 plus a count, and never echo what was submitted', async () => {
		const s = stream();
		const importId = `${prefix}errors`;
		const leads = [...Array.from({ length: 1500 }, (_, i) => ({ name: `Bad ${i}`, phone: `12${i}`, email: `bad-${i}-at-example` })), good(1)];
		const result = await postToLeadTrigger({ source: 'website', stream: s, authentication: 'sharedSecret' }, json({ importId, leads }, auth));
		expect(result.status).toBe(200);
		const body = result.json as { errors: Array<{ index: number; error: string }>; errorCount: number; failed: number; successful: number };
		expect([body.failed, body.errorCount, body.errors.length, body.successful]).toEqual([1500, 1500, 1000, 1]);
		expect(body.errors[999].index).toBe(999);
		expect(await redis.llen(`import:job:${importId}:errors`)).toBe(1000);
		const text = JSON.stringify(body.errors);
		expect(text).not.toMatch(/"12\d+"|bad-\d+-at-example/);
		expect(body.errors[0].error).toMatch(/phone: .*not a valid phone number/);
	});
});
