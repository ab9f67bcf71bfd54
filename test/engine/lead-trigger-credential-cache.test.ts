import type Redis from 'ioredis';

import { credentialCache } from '../../nodes/common/credentialCache';
import { closeSharedRedis } from '../../nodes/shared/queue';
import { deletePrefix, redisCredential, testRedis, uniquePrefix } from '../support/redis';
import { callWebhook } from '../../scripts/engine-harness/call-webhook';
import { json, leadTriggerCredentials, leadTriggerWorkflow } from './workflows/lead-trigger-workflow';

// n8n 2.41 answers every getCredentials with a database read, a decrypt and a fresh expression
// isolate; an enqueue-only request must not pay that each time, yet an edited credential must be
// in use soon after (and an editor test run always reads afresh).
const prefix = uniquePrefix('lead-trigger-credential-cache');
let redis: Redis;
const ttlBefore = credentialCache.ttlMs;

beforeAll(() => {
	redis = testRedis();
});
afterAll(async () => {
	credentialCache.ttlMs = ttlBefore;
	await deletePrefix(redis, prefix);
	await closeSharedRedis();
	redis.disconnect();
});

/** Credentials whose Redis entry counts how often n8n was asked to decrypt it, and can be swapped. */
function countingCredentials() {
	const state = { reads: 0, redis: redisCredential() as object };
	const credentials = {
		...leadTriggerCredentials,
		get leadPipelineRedis() {
			state.reads++;
			return state.redis;
		},
	};
	return { state, credentials };
}

const lead = (i: number) => json({ name: `Cache ${i}`, phone: '+91 98450 98450', email: `cache${i}@example.com` });

test('enqueue-only requests read the Redis credential once per TTL, not once per request', async () => {
	credentialCache.ttlMs = 60_000; // longer than 20 requests take on a loaded machine
	const { state, credentials } = countingCredentials();
	const workflow = { ...leadTriggerWorkflow({ source: 'website', stream: `${prefix}a`, enqueueOnly: true }), id: 'cache-wf-1' };
	for (let i = 0; i < 20; i++) {
		const result = await callWebhook(workflow, lead(i), { credentials: credentials as Record<string, object>, mode: 'webhook' });
		expect(result.status).toBe(202);
	}
	expect(await redis.xlen(`${prefix}a`)).toBe(20);
	expect(state.reads).toBe(1);
});

test('an edited credential is in use once the TTL has passed', async () => {
	credentialCache.ttlMs = 300;
	const { state, credentials } = countingCredentials();
	const workflow = { ...leadTriggerWorkflow({ source: 'website', stream: `${prefix}b`, enqueueOnly: true }), id: 'cache-wf-2' };
	const call = (i: number) => callWebhook(workflow, lead(i), { credentials: credentials as Record<string, object>, mode: 'webhook' });
	expect((await call(1)).status).toBe(202);
	// The owner edits the credential to a Redis that does not answer.
	state.redis = { ...redisCredential(), host: '127.0.0.1', port: 1 };
	await new Promise((r) => setTimeout(r, credentialCache.ttlMs + 100));
	expect((await call(2)).status).toBe(503);
	expect(state.reads).toBe(2);
});

test('editor test runs always read the credential afresh', async () => {
	const { state, credentials } = countingCredentials();
	const workflow = { ...leadTriggerWorkflow({ source: 'website', stream: `${prefix}c`, enqueueOnly: true }), id: 'cache-wf-3' };
	for (let i = 0; i < 3; i++) {
		await callWebhook(workflow, lead(i), { credentials: credentials as Record<string, object>, mode: 'manual' });
	}
	expect(state.reads).toBe(3);
});
