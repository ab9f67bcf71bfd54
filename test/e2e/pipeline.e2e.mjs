// Real n8n 2.41.1 + this pack installed from its npm tarball + real Redis: every template in
// workflows/ plus the proving workflow, driven over HTTP the way callers and Meta drive them.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import Redis from 'ioredis';

import { fuzzRequests } from './fuzz.mjs';
import { dashboardLoginCredential, redisCredential, whatsAppCredential } from '../../scripts/local-credentials.mjs';
import { N8nInstance, PACKAGE, packThePack, ROOT } from '../../scripts/n8n-rig.mjs';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
// A database of its own keeps the templates' fixed stream names away from anything else on the server.
const E2E_DB = Number(process.env.E2E_REDIS_DB ?? 13);
const workflowFiles = [
	join(ROOT, 'test/e2e/workflows/webhook-to-stream-add.json'),
	...readdirSync(join(ROOT, 'workflows')).filter((f) => f.endsWith('.json')).map((f) => join(ROOT, 'workflows', f)),
];
const dashboardLogin = dashboardLoginCredential({ LEAD_PIPELINE_DASHBOARD_PASSWORD: 'e2e-dashboard-pass' });
const whatsApp = whatsAppCredential({ WHATSAPP_APP_SECRET: 'e2e-app-secret', WHATSAPP_VERIFY_TOKEN: 'e2e-verify-token' });

let n8n;
let redis;

async function flushTestDb() {
	await redis.flushdb();
}

async function until(check, what, timeoutMs = 30_000) {
	const deadline = Date.now() + timeoutMs;
	while (!(await check())) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${n8n.logs.slice(-3000)}`);
		await new Promise((r) => setTimeout(r, 100));
	}
}

async function syncedMessages() {
	return (await redis.xrange('syncQueue', '-', '+')).map(([, fields]) => JSON.parse(fields[1]));
}

before(async () => {
	redis = new Redis(REDIS_URL, { db: E2E_DB });
	await flushTestDb();
	n8n = await N8nInstance.create();
	n8n.installPack(packThePack(mkdtempSync(join(tmpdir(), 'lead-pipeline-pack-'))));
	n8n.importCredentials([redisCredential(REDIS_URL, E2E_DB), whatsApp, dashboardLogin]);
	for (const file of workflowFiles) {
		n8n.importWorkflow(file);
		n8n.publishWorkflow(JSON.parse(readFileSync(file, 'utf8')).id);
	}
	await n8n.start();
	for (const path of ['lead-capture', 'leads', 'whatsapp']) await n8n.waitForWebhook(path);
});

after(async () => {
	await n8n?.stop();
	await redis?.flushdb();
	redis?.disconnect();
});

test('n8n loads every node type the package lists, and no "Unrecognized node type"', () => {
	const loaded = n8n.loadedNodeTypes();
	for (const path of PACKAGE.n8n.nodes) {
		const source = readFileSync(join(ROOT, path.replace(/^dist\//, '').replace(/\.js$/, '.ts')), 'utf8');
		const type = `${PACKAGE.name}.${/\bname: '([^']+)'/.exec(source)[1]}`;
		assert.ok(loaded.includes(type), `n8n did not load ${type}`);
	}
	assert.doesNotMatch(n8n.logs, /Unrecognized node type/);
});

test('proving path: Webhook → Redis Stream Add → filterQueue → Redis Stream Consumer → syncQueue, acknowledged', async () => {
	const lead = { name: 'Proving Path', phone: '+91 98450 98450' };
	const response = await fetch(`${n8n.url}/webhook/lead-capture`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify(lead),
	});
	const body = await response.text();
	assert.equal(response.status, 200, body);
	const { id } = JSON.parse(body);
	assert.match(id, /^\d+-\d+$/);
	await until(async () => (await syncedMessages()).some((m) => m.leadData?.name === 'Proving Path'), 'the consumer to move it');
	await until(async () => Number((await redis.xpending('filterQueue', 'newOpportunityProcessor'))[0]) === 0, 'the ack');
});

test('Lead Trigger (website, enqueue only): 202 { traceId } and the lead flows through filterQueue to syncQueue', async () => {
	const response = await fetch(`${n8n.url}/webhook/leads`, {
		method: 'POST',
		headers: { 'content-type': 'application/x-www-form-urlencoded' },
		body: 'name=Asha+Rao&phone=098450+98450&email=Asha%40Example.com&destination=Goa&utm_source=google',
	});
	const body = await response.text();
	assert.equal(response.status, 202, body);
	const { traceId } = JSON.parse(body);
	await until(async () => (await syncedMessages()).some((m) => m.traceId === traceId), 'the lead in syncQueue');
	const message = (await syncedMessages()).find((m) => m.traceId === traceId);
	assert.equal(message.source, 'WEBSITE');
	assert.deepEqual(
		{ ...message.leadData, receivedAt: undefined, raw: undefined },
		{ traceId, source: { channel: 'WEBSITE' }, name: 'Asha Rao', phone: '+919845098450', waId: '919845098450', email: 'asha@example.com', destination: 'Goa', utm: { source: 'google' }, receivedAt: undefined, raw: undefined },
	);

	const invalid = await fetch(`${n8n.url}/webhook/leads`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"X","phone":"12"}' });
	assert.equal(invalid.status, 400);
	assert.deepEqual((await invalid.json()).errors.map((e) => e.field), ['phone']);
});

test('Lead Trigger (WhatsApp): Meta handshake, signature over the raw body in real n8n, 401 when forged', async () => {
	const challenge = await fetch(`${n8n.url}/webhook/whatsapp?hub.mode=subscribe&hub.verify_token=e2e-verify-token&hub.challenge=8731`);
	assert.equal(challenge.status, 200);
	assert.equal(await challenge.text(), '8731');
	const refused = await fetch(`${n8n.url}/webhook/whatsapp?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1`);
	assert.equal(refused.status, 403);

	// Spacing as Meta sends it: the signature is over these exact bytes, not a re-serialization.
	const raw = `{"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"}, "contacts": [{"profile": {"name": "Ravi"}, "wa_id": "919812345678"}], "messages": [{"from": "919812345678", "id": "wamid.e2e-1", "timestamp": "1739321024", "type": "text", "text": {"body": "Kerala tour?"}}]}}]}]}`;
	const signature = `sha256=${createHmac('sha256', 'e2e-app-secret').update(raw).digest('hex')}`;
	const forged = await fetch(`${n8n.url}/webhook/whatsapp`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': 'sha256=00' }, body: raw });
	assert.equal(forged.status, 401);
	for (let i = 0; i < 2; i++) {
		const ok = await fetch(`${n8n.url}/webhook/whatsapp`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature }, body: raw });
		assert.equal(ok.status, 200, await ok.text());
	}
	await until(async () => (await syncedMessages()).some((m) => m.leadData?.source?.messageId === 'wamid.e2e-1'), 'the WhatsApp lead');
	await new Promise((r) => setTimeout(r, 500));
	const ravi = (await syncedMessages()).filter((m) => m.leadData?.source?.messageId === 'wamid.e2e-1');
	assert.equal(ravi.length, 1, 'the replayed wamid became a second lead');
	assert.equal(ravi[0].leadData.phone, '+919812345678');
	assert.equal(ravi[0].leadData.name, 'Ravi');
});

test('the Lead Pipeline Redis credential Test button connects and PINGs, and hides the password', async () => {
	await n8n.setupOwner();
	const url = new URL(REDIS_URL);
	const data = { connectionType: 'hostPort', host: url.hostname, port: Number(url.port || 6379), password: decodeURIComponent(url.password), database: E2E_DB };
	const good = await n8n.rest('credentials/test', { credentials: { id: 'LpRedisLocal0001', name: 'ok', type: 'leadPipelineRedis', data } });
	assert.deepEqual(good, { status: 'OK', message: 'Connected: PING answered PONG' });
	const bad = await n8n.rest('credentials/test', {
		credentials: { id: 'LpRedisLocal0001', name: 'bad', type: 'leadPipelineRedis', data: { ...data, port: 1, password: 'hunter2-secret' } },
	});
	assert.equal(bad.status, 'Error');
	assert.match(bad.message, /Could not connect to Redis: connect ECONNREFUSED 127\.0\.0\.1:1/);
	assert.doesNotMatch(JSON.stringify(bad), /hunter2-secret/);
});

test('dashboard template: 401 without the login; the page and its JSON with it, numbers from Redis', async () => {
	await n8n.waitForWebhook('lead-pipeline/dashboard', 'GET');
	const url = `${n8n.url}/webhook/lead-pipeline/dashboard`;
	assert.equal((await fetch(url)).status, 401);
	const auth = { authorization: `Basic ${Buffer.from(`${dashboardLogin.data.user}:${dashboardLogin.data.password}`).toString('base64')}` };
	await redis.xadd('filterQueue', '*', 'message', JSON.stringify({ traceId: 'dash-1' }));
	const page = await fetch(url, { headers: auth });
	assert.equal(page.status, 200, await page.clone().text());
	assert.match(page.headers.get('content-type') ?? '', /text\/html/);
	const html = await page.text();
	assert.match(html, /<svg/);
	assert.match(html, /filterQueue/);
	const json = await (await fetch(`${url}?format=json`, { headers: auth })).json();
	const filter = json.health.queues.find((q) => q.stream === 'filterQueue');
	assert.equal(filter.length, await redis.xlen('filterQueue'));
});

test('fuzz: random and malformed bodies and content types get 2xx/4xx, never 5xx; n8n stays up', async () => {
	const count = Number(process.env.FUZZ_REQUESTS ?? 10_000);
	const { statuses, unanswered } = await fuzzRequests(`${n8n.url}/webhook/leads`, count, 16);
	assert.deepEqual(unanswered.slice(0, 5), [], `${unanswered.length} requests got no answer`);
	const byStatus = Object.fromEntries([...statuses].sort(([a], [b]) => a - b));
	process.stderr.write(`[fuzz] ${count} requests: ${JSON.stringify(byStatus)}\n`);
	const fiveHundreds = [...statuses.keys()].filter((s) => s >= 500 || s <= 0);
	assert.deepEqual(fiveHundreds, [], `5xx answers: ${JSON.stringify(byStatus)}`);
	assert.equal([...statuses.values()].reduce((a, b) => a + b, 0), count);
	const health = await fetch(`${n8n.url}/healthz`);
	assert.equal(health.status, 200);
	assert.equal(n8n.process.exitCode, null);
});
