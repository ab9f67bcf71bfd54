import { randomBytes } from 'node:crypto';

import type { IDataObject, WorkflowExecuteMode } from 'n8n-workflow';

import { closeHttpAgents } from '../../nodes/shared/http';
import { webhookIdFor } from '../../nodes/shared/webhook/standardWebhooks';
import { newTraceId } from '../../nodes/shared/lead/trace';
import { fieldsToObject } from '../../nodes/shared/queue/streams';
import { deletePrefix, redisCredential, testRedis, uniquePrefix } from '../support/redis';
import { verifyStandardWebhook } from '../../sandbox/standardWebhooksVerifier';
import { WebhookReceiver } from '../../sandbox/webhookReceiver';
import { errorOf, outputOf, runWorkflow } from '../../scripts/engine-harness/run-workflow';
import { webhookDeliverWorkflow } from './workflows/webhook-deliver-workflow';

const secret = `whsec_${randomBytes(32).toString('base64')}`;
const oldSecret = `whsec_${randomBytes(24).toString('base64')}`;
const AUTH = 'Bearer rcv_TOPSECRET_token';
const signing = { secret, previousSecrets: oldSecret, authHeaderName: 'Authorization', authHeaderValue: AUTH };
const prefix = uniquePrefix('webhook-deliver');
const redis = testRedis();
let receiver: WebhookReceiver;
let n = 0;
let names: { keyPrefix: string; retryStream: string; dlqStream: string };

beforeAll(async () => {
	receiver = await new WebhookReceiver(secret).start();
});
beforeEach(() => {
	n++;
	names = { keyPrefix: `${prefix}${n}`, retryStream: `${prefix}${n}:retry`, dlqStream: `${prefix}${n}:dlq` };
});
afterAll(async () => {
	await receiver.stop();
	await deletePrefix(redis, prefix);
	redis.disconnect();
	closeHttpAgents();
});

const lead = (extra: IDataObject = {}): IDataObject => ({ traceId: newTraceId(), name: 'Ann', phone: '+919845098450', ...extra });

interface RunArgs {
	params?: Record<string, unknown>;
	options?: Record<string, unknown>;
	mode?: WorkflowExecuteMode;
	redis?: boolean;
	signingCredential?: object | false;
}

async function deliver(path: string, input: IDataObject[], args: RunArgs = {}) {
	const parameters = {
		url: `${receiver.url}${path}`,
		eventType: 'lead.created',
		baseDelayMs: 20,
		...(args.redis ? { useRedis: true } : {}),
		...args.params,
		options: { allowInternal: true, ...names, ...args.options },
	};
	const credentials: Record<string, object> = {};
	if (args.signingCredential !== false) credentials.leadPipelineWebhookSigningApi = args.signingCredential ?? signing;
	if (args.redis) credentials.leadPipelineRedis = redisCredential();
	const run = await runWorkflow(webhookDeliverWorkflow(parameters, { signing: args.signingCredential !== false, redis: args.redis }), {
		input,
		credentials,
		mode: args.mode ?? 'trigger',
	});
	const error = errorOf(run);
	if (error) throw new Error(error);
	return {
		delivered: outputOf(run, 'Webhook Deliver', 0),
		failed: outputOf(run, 'Webhook Deliver', 1),
		deferred: outputOf(run, 'Webhook Deliver', 2),
		run,
	};
}
const hook = (item: IDataObject) => item.webhook as IDataObject;
const attemptsOf = (item: IDataObject) => hook(item).attempts as IDataObject[];

describe('Webhook Deliver, through the n8n engine', () => {
	test('signed per Standard Webhooks (verified independently, with the current and the rotated-out secret), legacy headers, body = the item', async () => {
		receiver.on('/ok', {});
		const items = [lead(), lead(), lead()];
		const out = await deliver('/ok', items);
		expect(out.delivered).toHaveLength(3);
		expect(out.failed).toEqual([]);
		const got = receiver.to('/ok');
		expect(got).toHaveLength(3);
		for (const [i, item] of items.entries()) {
			const request = got.find((r) => JSON.parse(r.body.toString()).traceId === item.traceId)!;
			const id = webhookIdFor(item.traceId as string, 'lead.created');
			expect(request.verified).toEqual({ ok: true });
			expect(verifyStandardWebhook(request.headers, request.body, oldSecret).ok).toBe(true);
			expect(request.headers).toMatchObject({
				'webhook-id': id,
				'x-webhook-id': id,
				'x-webhook-event': 'lead.created',
				'x-webhook-attempt': '1',
				'content-type': 'application/json',
				authorization: AUTH,
			});
			expect(JSON.parse(request.body.toString())).toEqual(item);
			expect(hook(out.delivered[i])).toMatchObject({ webhookId: id, status: 200, attempts: 1, durationMs: expect.any(Number) });
		}
		expect(JSON.stringify(out)).not.toContain('TOPSECRET');
	});

	test('custom JSON payload, PUT, extra headers; reserved headers cannot be overridden', async () => {
		receiver.on('/put', {});
		const item = lead();
		await deliver('/put', [item], {
			params: {
				method: 'PUT',
				payloadMode: 'custom',
				payload: '={{ { "type": "lead.created", "data": { "name": $json.name } } }}',
				extraHeaders: { header: [{ name: 'X-Tenant', value: 'west' }, { name: 'webhook-id', value: 'forged' }] },
			},
		});
		const [request] = receiver.to('/put');
		expect(request.method).toBe('PUT');
		expect(JSON.parse(request.body.toString())).toEqual({ type: 'lead.created', data: { name: 'Ann' } });
		expect(request.headers['x-tenant']).toBe('west');
		expect(request.headers['webhook-id']).toBe(webhookIdFor(item.traceId as string, 'lead.created'));
		expect(request.verified.ok).toBe(true);
	});

	test('fails twice then succeeds: 3 attempts, same webhook-id, attempt header counts, each attempt freshly signed', async () => {
		receiver.on('/flaky', { failTimes: 2, failStatus: 503 });
		const out = await deliver('/flaky', [lead()]);
		expect(hook(out.delivered[0])).toMatchObject({ status: 200, attempts: 3 });
		const got = receiver.to('/flaky');
		expect(got.map((r) => r.headers['x-webhook-attempt'])).toEqual(['1', '2', '3']);
		expect(new Set(got.map((r) => r.headers['webhook-id'])).size).toBe(1);
		expect(got.every((r) => r.verified.ok)).toBe(true);
		expect((hook(out.delivered[0]).attemptLog as IDataObject[]).map((a) => a.status)).toEqual([503, 503, 200]);
	});

	test('always 500: Failed with every attempt (status, time, error) and a dead letter', async () => {
		receiver.on('/down', { failTimes: 99 });
		const item = lead();
		const out = await deliver('/down', [item], { redis: true });
		expect(out.delivered).toEqual([]);
		expect(hook(out.failed[0])).toMatchObject({ reason: 'exhausted', endpointGone: false, error: 'HTTP 500' });
		expect(attemptsOf(out.failed[0])).toEqual([1, 2, 3].map((attempt) => expect.objectContaining({ attempt, status: 500, at: expect.any(String), error: 'HTTP 500' })));
		const dlq = await redis.xrange(names.dlqStream, '-', '+');
		expect(dlq).toHaveLength(1);
		const letter = JSON.parse(fieldsToObject(dlq[0][1]).message);
		expect(letter).toMatchObject({ webhookDelivery: 1, reason: 'exhausted', traceId: item.traceId, lastError: 'HTTP 500', url: `${receiver.url}/down` });
		expect(letter.attempts).toHaveLength(3);
		expect(JSON.stringify(dlq)).not.toContain('TOPSECRET');
	});

	test('a dead letter fed back in is redelivered with fresh attempts and the same webhook-id', async () => {
		receiver.on('/later', { failTimes: 3 });
		const item = lead();
		await deliver('/later', [item], { redis: true });
		const [[dlqId, fields]] = await redis.xrange(names.dlqStream, '-', '+');
		const consumed = { id: dlqId, stream: names.dlqStream, deliveryCount: 1, message: JSON.parse(fieldsToObject(fields).message) };
		const out = await deliver('/elsewhere', [consumed], { redis: true });
		expect(hook(out.delivered[0])).toMatchObject({ status: 200, attempts: 1, webhookId: webhookIdFor(item.traceId as string, 'lead.created') });
		expect(receiver.to('/later')).toHaveLength(4);
		expect(receiver.to('/elsewhere')).toHaveLength(0);
	});

	test('429 honours Retry-After over a shorter schedule', async () => {
		receiver.on('/throttled', { failTimes: 1, failStatus: 429, retryAfter: '1' });
		const out = await deliver('/throttled', [lead()]);
		expect(hook(out.delivered[0])).toMatchObject({ attempts: 2 });
		const [first, second] = receiver.to('/throttled');
		expect(second.at - first.at).toBeGreaterThanOrEqual(950);
	});

	test('410 stops at once and reports the endpoint gone', async () => {
		receiver.on('/gone', { status: 410 });
		const out = await deliver('/gone', [lead()]);
		expect(hook(out.failed[0])).toMatchObject({ reason: 'gone', endpointGone: true, error: expect.stringMatching(/Endpoint gone/) });
		expect(attemptsOf(out.failed[0])).toHaveLength(1);
		expect(receiver.to('/gone')).toHaveLength(1);
	});

	test('other 4xx is not retried', async () => {
		receiver.on('/bad', { status: 422 });
		const out = await deliver('/bad', [lead()]);
		expect(hook(out.failed[0])).toMatchObject({ reason: 'permanent', error: 'HTTP 422' });
		expect(receiver.to('/bad')).toHaveLength(1);
	});

	test('a receiver hanging past the timeout is a retryable timeout', async () => {
		receiver.on('/hang', { hangTimes: 1 });
		const out = await deliver('/hang', [lead()], { params: { timeoutMs: 300 } });
		expect(hook(out.delivered[0])).toMatchObject({ attempts: 2 });
		const log = hook(out.delivered[0]).attemptLog as IDataObject[];
		expect(log[0]).toMatchObject({ verdict: 'retryable', error: expect.stringMatching(/no complete response within 300 ms/) });
		expect(log[0].status).toBeUndefined();
	});

	test('redirects are not followed', async () => {
		receiver.on('/moved', { redirectTo: `${receiver.url}/target` });
		const out = await deliver('/moved', [lead()]);
		expect(attemptsOf(out.failed[0])).toEqual([expect.objectContaining({ status: 302, location: `${receiver.url}/target`, error: 'redirect 302 not followed' })]);
		expect(receiver.to('/target')).toHaveLength(0);
	});

	test.each([
		['127.0.0.1', () => `${receiver.url}/ssrf`],
		['10.x', () => 'http://10.1.2.3/ssrf'],
		['169.254.169.254', () => 'http://169.254.169.254/latest/meta-data/'],
		['localhost', () => receiver.url.replace('127.0.0.1', 'localhost') + '/ssrf'],
	])('SSRF: %s is refused when internal addresses are not allowed', async (_label, url) => {
		receiver.on('/ssrf', {});
		const out = await deliver('/ignored', [lead()], { params: { url: url() }, options: { allowInternal: false } });
		expect(hook(out.failed[0])).toMatchObject({ reason: 'permanent', error: expect.stringMatching(/internal .*address/) });
		expect(attemptsOf(out.failed[0])).toHaveLength(1);
		expect(receiver.to('/ssrf')).toHaveLength(0);
	});

	test('idempotency: a redelivered item is not delivered twice within the window; editor runs neither skip nor record', async () => {
		receiver.on('/once', {});
		const items = [lead(), lead()];
		await deliver('/once', items, { redis: true });
		const again = await deliver('/once', items, { redis: true });
		expect(again.delivered.map((d) => hook(d).alreadyDelivered)).toEqual([true, true]);
		expect(receiver.to('/once')).toHaveLength(2);

		const fresh = [lead()];
		const reallyDeliver = { deliverInTestRuns: true };
		await deliver('/once', fresh, { redis: true, mode: 'manual', options: reallyDeliver });
		await deliver('/once', fresh, { redis: true, mode: 'manual', options: reallyDeliver });
		expect(receiver.to('/once')).toHaveLength(4);
		expect(await redis.exists(`${names.keyPrefix}:delivered:${webhookIdFor(fresh[0].traceId as string, 'lead.created')}`)).toBe(0);
	});

	test('editor runs that deliver for real never write the dead-letter stream', async () => {
		receiver.on('/manual-down', { status: 500 });
		const out = await deliver('/manual-down', [lead()], { redis: true, mode: 'manual', params: { attempts: 1 }, options: { deliverInTestRuns: true } });
		expect(out.failed).toHaveLength(1);
		expect(await redis.exists(names.dlqStream)).toBe(0);
	});

	test('an editor test run sends nothing by default: it outputs the signed request it would send (testRun), never a secret, and touches no Redis', async () => {
		receiver.on('/preview', {});
		const sentBefore = receiver.received.length;
		const item = lead();
		const id = webhookIdFor(item.traceId as string, 'lead.created');
		const out = await deliver('/preview', [item], {
			redis: true,
			mode: 'manual',
			params: { extraHeaders: { header: [{ name: 'X-Tenant', value: 'west' }] } },
		});
		expect(receiver.received.slice(sentBefore).map((r) => `${r.method} ${r.path}`)).toEqual([]);
		expect(out.failed).toEqual([]);
		expect(out.deferred).toEqual([]);
		expect(out.delivered).toHaveLength(1);
		expect(out.delivered[0]).toMatchObject(item);
		const preview = hook(out.delivered[0]);
		expect(preview).toMatchObject({ testRun: true, webhookId: id, eventType: 'lead.created', url: `${receiver.url}/preview`, method: 'POST' });
		expect(preview.status).toBeUndefined();
		const request = preview.request as { url: string; method: string; headers: Record<string, string>; body: unknown };
		expect(request).toMatchObject({ url: `${receiver.url}/preview`, method: 'POST', body: item });
		expect(request.headers).toMatchObject({
			'webhook-id': id,
			'webhook-timestamp': expect.stringMatching(/^\d+$/),
			'x-webhook-id': id,
			'x-webhook-event': 'lead.created',
			'x-webhook-attempt': '1',
			'content-type': 'application/json',
			'X-Tenant': 'west',
		});
		// The signature shown is the one the receiver would get: it verifies over the body shown.
		expect(verifyStandardWebhook(request.headers, Buffer.from(JSON.stringify(request.body)), secret)).toEqual({ ok: true });
		// The auth header from the credential is named, its value hidden.
		expect(request.headers.Authorization).toBeDefined();
		const shown = JSON.stringify(out.run);
		for (const hidden of ['TOPSECRET', secret, secret.slice('whsec_'.length), oldSecret.slice('whsec_'.length)]) expect(shown).not.toContain(hidden);
		expect(await redis.exists(`${names.keyPrefix}:delivered:${id}`)).toBe(0);
		expect(await redis.exists(names.dlqStream, names.retryStream, `${names.retryStream}:scheduled`)).toBe(0);
	});

	test('an editor test run previews a fed-back dead letter instead of redelivering it; an unusable URL goes to Failed', async () => {
		receiver.on('/replay-later', { failTimes: 3 });
		await deliver('/replay-later', [lead()], { redis: true });
		const [[dlqId, fields]] = await redis.xrange(names.dlqStream, '-', '+');
		const consumed = { id: dlqId, stream: names.dlqStream, deliveryCount: 1, message: JSON.parse(fieldsToObject(fields).message) };
		const sentBefore = receiver.received.length;
		const out = await deliver('/ignored', [consumed, lead({ target: 'not a url' })], { redis: true, mode: 'manual', params: { url: `={{ $json.target ?? "${receiver.url}/ignored" }}` } });
		expect(receiver.received.slice(sentBefore).map((r) => `${r.method} ${r.path}`)).toEqual([]);
		expect(hook(out.delivered[0])).toMatchObject({ testRun: true, request: expect.objectContaining({ url: `${receiver.url}/replay-later`, headers: expect.objectContaining({ 'x-webhook-attempt': '1' }) }) });
		expect(hook(out.failed[0])).toMatchObject({ testRun: true, reason: 'permanent', error: expect.stringMatching(/not a valid absolute URL/) });
		expect(await redis.xlen(names.dlqStream)).toBe(1);
	});

	test('long waits go through the retry queue: deferred, released when due, redelivered by the consumer path, not-due copies parked', async () => {
		receiver.on('/slow-recover', { failTimes: 2 });
		const item = lead();
		const params = { backoff: 'list', delays: '50ms, 1h', attempts: 4, retryQueue: true, maxInlineWaitMs: 1000 };
		const first = await deliver('/slow-recover', [item], { redis: true, params });
		expect(first.delivered).toEqual([]);
		expect(hook(first.deferred[0])).toMatchObject({ nextAttempt: 3 });
		const setKey = `${names.retryStream}:scheduled`;
		const [member, score] = await redis.zrange(setKey, 0, -1, 'WITHSCORES');
		expect(Number(score) - Date.now()).toBeGreaterThan(3_500_000);
		const parked = JSON.parse((await redis.hget(`${setKey}:envelopes`, member)) as string);
		expect(parked).toMatchObject({ nextAttempt: 3, webhookId: webhookIdFor(item.traceId as string, 'lead.created') });
		expect(parked.attempts).toHaveLength(2);

		// Not due: Release moves nothing.
		const release = async () => await deliver('/x', [{}], { redis: true, params: { operation: 'releaseDueRetries' } });
		expect(await release().then((o) => o.delivered[0].released)).toBe(0);

		// A copy consumed before its time (e.g. replayed by hand) is parked again, not sent.
		const early = await deliver('/slow-recover', [{ id: '1-0', message: parked }], { redis: true, params });
		expect(hook(early.deferred[0])).toMatchObject({ parked: true });
		expect(receiver.to('/slow-recover')).toHaveLength(2);

		// Parking the same delivery again replaced it: still one entry.
		expect(await redis.zcard(setKey)).toBe(1);

		// Time passes (moved back, both the score and the envelope's notBefore), release, and feed the
		// stream entry back as the Redis Stream Consumer Trigger would.
		await redis.zadd(setKey, Date.now() - 1, member);
		await redis.hset(`${setKey}:envelopes`, member, JSON.stringify({ ...parked, notBefore: Date.now() - 1 }));
		expect(await release().then((o) => o.delivered[0].released)).toBe(1);
		const entries = await redis.xrange(names.retryStream, '-', '+');
		expect(entries).toHaveLength(1);
		const consumed = { id: entries[0][0], stream: names.retryStream, deliveryCount: 1, message: JSON.parse(fieldsToObject(entries[0][1]).message) };
		const last = await deliver('/slow-recover', [consumed], { redis: true, params });
		expect(hook(last.delivered[0])).toMatchObject({ status: 200, attempts: 3 });
		const got = receiver.to('/slow-recover');
		expect(got.map((r) => r.headers['x-webhook-attempt'])).toEqual(['1', '2', '3']);
		expect(new Set(got.map((r) => r.headers['webhook-id'])).size).toBe(1);
		expect(await redis.zcard(setKey)).toBe(0);
		expect(await redis.hlen(`${setKey}:envelopes`)).toBe(0);
	});

	test('items are delivered concurrently, bounded by the Concurrency option', async () => {
		receiver.on('/parallel', { delayMs: 100 });
		receiver.maxInFlight = 0;
		const started = Date.now();
		const out = await deliver('/parallel', Array.from({ length: 20 }, () => lead()), { options: { concurrency: 5 } });
		expect(out.delivered).toHaveLength(20);
		expect(receiver.maxInFlight).toBe(5);
		expect(Date.now() - started).toBeLessThan(2000);
	});

	test('unsigned when no signing credential is set; a bad secret fails the node with how to fix it', async () => {
		const plain = await new WebhookReceiver().start();
		try {
			plain.on('/p', {});
			const out = await runWorkflow(webhookDeliverWorkflow({ url: `${plain.url}/p`, eventType: 'x', options: { allowInternal: true } }, { signing: false }), { input: [lead()], mode: 'trigger' });
			expect(outputOf(out, 'Webhook Deliver', 0)).toHaveLength(1);
			expect(plain.to('/p')[0].headers['webhook-signature']).toBeUndefined();
		} finally {
			await plain.stop();
		}
		await expect(deliver('/ok', [lead()], { signingCredential: { secret: 'whsec_c2hvcnQ=' } })).rejects.toThrow(/signing secret decodes to 5 bytes/);
	});

	test('a signing credential that is selected but cannot be loaded fails the node instead of sending unsigned', async () => {
		receiver.on('/never', {});
		const before = receiver.to('/never').length;
		// The node references the credential, but n8n cannot give it (deleted, no access, decrypt error).
		const run = await runWorkflow(
			webhookDeliverWorkflow({ url: `${receiver.url}/never`, eventType: 'x', options: { allowInternal: true } }, { signing: true }),
			{ input: [lead()], credentials: {}, mode: 'trigger' },
		);
		expect(errorOf(run)).toMatch(/leadPipelineWebhookSigningApi/);
		expect(receiver.to('/never').length).toBe(before);
	});

	test('an item with an unusable URL goes to Failed with the reason; the others are delivered', async () => {
		receiver.on('/mixed', {});
		const out = await deliver('/mixed', [lead({ target: 'not a url' }), lead({ target: `${receiver.url}/mixed` })], {
			params: { url: '={{ $json.target }}' },
		});
		expect(out.delivered).toHaveLength(1);
		expect(hook(out.failed[0])).toMatchObject({ reason: 'permanent', error: expect.stringMatching(/not a valid absolute URL/) });
	});
});
