// Real n8n 2.41.1 + this pack installed from its npm tarball + real Redis: every template in
// workflows/ plus the proving workflow, driven over HTTP the way callers and Meta drive them.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import Redis from 'ioredis';

import { fuzzRequests } from './fuzz.mjs';
import { sandboxSecrets } from '../../scripts/local-credentials.mjs';
import { N8nInstance, PACKAGE, packThePack, ROOT } from '../../scripts/n8n-rig.mjs';
import { installPipeline } from '../../scripts/pipeline-setup.mjs';
import { startSandboxes } from '../../scripts/sandboxes.mjs';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
// A database of its own keeps the templates' fixed stream names away from anything else on the server.
const E2E_DB = Number(process.env.E2E_REDIS_DB ?? 13);
const provingWorkflow = join(ROOT, 'test/e2e/workflows/webhook-to-stream-add.json');
// Every template in workflows/, set up as `npm start` does (scripts/pipeline-setup.mjs), with the
// stand-ins behind the credentials and these fixed secrets.
const env = { LEAD_PIPELINE_DASHBOARD_PASSWORD: 'e2e-dashboard-pass', WHATSAPP_APP_SECRET: 'e2e-app-secret', WHATSAPP_VERIFY_TOKEN: 'e2e-verify-token' };
let dashboardLogin;

let n8n;
let redis;
let sandbox;

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
	sandbox = await startSandboxes(sandboxSecrets());
	const { credentials } = installPipeline(n8n, { redisUrl: REDIS_URL, database: E2E_DB, sandbox, env, fresh: true });
	dashboardLogin = credentials.dashboardLogin;
	n8n.importWorkflow(provingWorkflow);
	n8n.publishWorkflow(JSON.parse(readFileSync(provingWorkflow, 'utf8')).id);
	await n8n.start();
	for (const path of ['lead-capture', 'leads', 'meta']) await n8n.waitForWebhook(path);
});

after(async () => {
	await n8n?.stop();
	await sandbox?.stop();
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

test('proving path: Webhook → Redis Stream Add → filterQueue → filter-queue workflow; a lead without traceId goes to the error output and DLQFilterQueueItems, acknowledged', async () => {
	const lead = { name: 'Proving Path', phone: '+91 98450 98450' };
	const post = () => fetch(`${n8n.url}/webhook/lead-capture`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(lead) });
	// A keep-alive socket n8n closed after the readiness probes can fail the first request: retry once.
	const response = await post().catch(post);
	const body = await response.text();
	assert.equal(response.status, 200, body);
	const { id } = JSON.parse(body);
	assert.match(id, /^\d+-\d+$/);
	const deadLetters = async () => (await redis.xrange('DLQFilterQueueItems', '-', '+')).map(([, fields]) => JSON.parse(fields[fields.indexOf('message') + 1]));
	await until(async () => (await deadLetters()).some((m) => m.item?.message?.leadData?.name === 'Proving Path'), 'the dead letter', 90_000).catch(async (error) => {
		const state = { deadLetters: await redis.xrange('DLQFilterQueueItems', '-', '+'), pending: await redis.xpending('filterQueue', 'newOpportunityProcessor'), groups: await redis.xinfo('GROUPS', 'filterQueue') };
		throw new Error(`${error.message.slice(0, 200)}\nstate: ${JSON.stringify(state)}`);
	});
	const letter = (await deadLetters()).find((m) => m.item?.message?.leadData?.name === 'Proving Path');
	assert.equal(letter.failedIn, 'filter queue');
	assert.match(letter.error, /no traceId/);
	assert.equal(letter.entryId, id);
	await until(async () => Number((await redis.xpending('filterQueue', 'newOpportunityProcessor'))[0]) === 0, 'the ack');
});

test('Lead Trigger (website, enqueue only): 202 { traceId }; the lead is stored in filterQueue and, routed NO_FILTER, handed to syncQueue once', async () => {
	const response = await fetch(`${n8n.url}/webhook/leads`, {
		method: 'POST',
		headers: { 'content-type': 'application/x-www-form-urlencoded' },
		body: 'name=Asha+Rao&phone=098450+98450&email=Asha%40Example.com&destination=Maldives&utm_source=google',
	});
	const body = await response.text();
	assert.equal(response.status, 202, body);
	const { traceId } = JSON.parse(body);
	const queued = (await redis.xrange('filterQueue', '-', '+')).map(([, fields]) => JSON.parse(fields[1])).find((m) => m.traceId === traceId);
	assert.equal(queued.source, 'WEBSITE');
	assert.deepEqual(
		{ ...queued.leadData, receivedAt: undefined, raw: undefined },
		{ traceId, source: { channel: 'WEBSITE' }, name: 'Asha Rao', phone: '+919845098450', waId: '919845098450', email: 'asha@example.com', destination: 'Maldives', utm: { source: 'google' }, receivedAt: undefined, raw: undefined },
	);
	await until(async () => (await syncedMessages()).some((m) => m.traceID === traceId), 'the sync message');
	assert.deepEqual((await syncedMessages()).filter((m) => m.traceID === traceId), [{ _id: `opp_${traceId}`, traceID: traceId, action: 'CREATE', source: 'WEBSITE' }]);

	const invalid = await fetch(`${n8n.url}/webhook/leads`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"name":"X","phone":"12"}' });
	assert.equal(invalid.status, 400);
	assert.deepEqual((await invalid.json()).errors.map((e) => e.field), ['phone']);
});

test('Lead Trigger (Meta callback): Meta handshake, signature over the raw body in real n8n, 401 when forged', async () => {
	const challenge = await fetch(`${n8n.url}/webhook/meta?hub.mode=subscribe&hub.verify_token=e2e-verify-token&hub.challenge=8731`);
	assert.equal(challenge.status, 200);
	assert.equal(await challenge.text(), '8731');
	const refused = await fetch(`${n8n.url}/webhook/meta?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1`);
	assert.equal(refused.status, 403);

	// Spacing as Meta sends it: the signature is over these exact bytes, not a re-serialization.
	const raw = `{"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {"messaging_product": "whatsapp", "metadata": {"display_phone_number": "15550783881", "phone_number_id": "106540352242922"}, "contacts": [{"profile": {"name": "Ravi"}, "wa_id": "919812345678"}], "messages": [{"from": "919812345678", "id": "wamid.e2e-1", "timestamp": "1739321024", "type": "text", "text": {"body": "Kerala tour?"}}]}}]}]}`;
	const signature = `sha256=${createHmac('sha256', 'e2e-app-secret').update(raw).digest('hex')}`;
	const forged = await fetch(`${n8n.url}/webhook/meta`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': 'sha256=00' }, body: raw });
	assert.equal(forged.status, 401);
	for (let i = 0; i < 2; i++) {
		const ok = await fetch(`${n8n.url}/webhook/meta`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature }, body: raw });
		assert.equal(ok.status, 200, await ok.text());
	}
	// No destination in a chat message: routed UNKNOWN, listed for manual review.
	const reviewed = async () => (await redis.xrange('manualReviewQueue', '-', '+')).map(([, fields]) => JSON.parse(fields[1]));
	await until(async () => (await reviewed()).some((m) => m.phone === '+919812345678'), 'the WhatsApp lead in manual review');
	await new Promise((r) => setTimeout(r, 500));
	assert.equal((await reviewed()).filter((m) => m.phone === '+919812345678').length, 1);
	const ravi = (await redis.xrange('filterQueue', '-', '+')).map(([, fields]) => JSON.parse(fields[1])).filter((m) => m.leadData?.source?.messageId === 'wamid.e2e-1');
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
