import { createHmac } from 'node:crypto';

import type Redis from 'ioredis';

import { closeSharedRedis } from '../../nodes/shared/queue';
import { deletePrefix, testRedis, uniquePrefix } from '../support/redis';
import type { WebhookRequestSpec } from '../../scripts/engine-harness/call-webhook';
import { FORM_SECRET, postToLeadTrigger } from './workflows/lead-trigger-workflow';

// Form HMAC: a signed timestamp bounds how long a captured post can be replayed, and the
// Idempotency-Key is signed too (else a replay with a fresh key would be a new lead).
const prefix = uniquePrefix('lead-trigger-signature');
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

const hmac = (content: string) => createHmac('sha256', FORM_SECRET).update(content).digest('hex');
const now = () => String(Math.floor(Date.now() / 1000));

/** A form post signed as the README documents: HMAC(timestamp + "\n" + idempotencyKey + "\n" + body). */
function signed(body: object, o: { timestamp?: string; idempotencyKey?: string } = {}): WebhookRequestSpec {
	const raw = JSON.stringify(body);
	const content = o.timestamp === undefined && o.idempotencyKey === undefined ? raw : `${o.timestamp ?? ''}\n${o.idempotencyKey ?? ''}\n${raw}`;
	const headers: Record<string, string> = { 'content-type': 'application/json', 'X-Lead-Signature': `sha256=${hmac(content)}` };
	if (o.timestamp !== undefined) headers['X-Lead-Timestamp'] = o.timestamp;
	if (o.idempotencyKey !== undefined) headers['Idempotency-Key'] = o.idempotencyKey;
	return { method: 'POST', headers, body: raw };
}

function params(options: Record<string, unknown> = {}) {
	n++;
	return { source: 'website', stream: `${prefix}${n}:filterQueue`, authentication: 'hmac', options };
}

const lead = { name: 'A', email: 'a@example.com' };

describe('Lead Trigger › form HMAC with timestamp', () => {
	test('a fresh signed timestamp passes; one outside the window, or a changed one, is 401', async () => {
		const p = params();
		expect((await postToLeadTrigger(p, signed(lead, { timestamp: now() }))).status).toBe(202);
		const old = await postToLeadTrigger(p, signed(lead, { timestamp: String(Math.floor(Date.now() / 1000) - 600) }));
		expect(old.status).toBe(401);
		expect((old.json as { error: string }).error).toMatch(/X-Lead-Timestamp.*300-second window/);
		const tampered = signed(lead, { timestamp: String(Math.floor(Date.now() / 1000) - 600) });
		tampered.headers!['X-Lead-Timestamp'] = now();
		expect((await postToLeadTrigger(p, tampered)).status).toBe(401);
		expect(await redis.xlen(p.stream)).toBe(1);
	});

	test('the tolerance is an option', async () => {
		const p = params({ timestampToleranceSeconds: 3600 });
		expect((await postToLeadTrigger(p, signed(lead, { timestamp: String(Math.floor(Date.now() / 1000) - 600) }))).status).toBe(202);
	});

	test('the Idempotency-Key is signed: adding or changing it breaks the signature', async () => {
		const p = params();
		const body = signed(lead);
		body.headers!['Idempotency-Key'] = `${prefix}fresh`;
		expect((await postToLeadTrigger(p, body)).status).toBe(401);
		const keyed = signed(lead, { idempotencyKey: `${prefix}k1` });
		expect((await postToLeadTrigger(p, keyed)).status).toBe(202);
		keyed.headers!['Idempotency-Key'] = `${prefix}k2`;
		expect((await postToLeadTrigger(p, keyed)).status).toBe(401);
		expect(await redis.xlen(p.stream)).toBe(1);
	});

	test('Require Timestamp refuses a post signed without one', async () => {
		const p = params({ requireTimestamp: true });
		const result = await postToLeadTrigger(p, signed(lead));
		expect(result.status).toBe(401);
		expect((result.json as { error: string }).error).toMatch(/X-Lead-Timestamp.*required/);
		expect((await postToLeadTrigger(p, signed(lead, { timestamp: now() }))).status).toBe(202);
	});
});
