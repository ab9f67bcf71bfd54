// The dashboard template in real n8n 2.41.1 (pack installed from its tarball), opened in headless
// Debian Chromium with the dashboard login (HTTP Basic Auth): the numbers on the page and in
// `?format=json` are checked against what Redis holds, Pause → the running consumer stops taking
// entries, Resume → it drains them. Screenshots go to test-artifacts/dashboard/ (gitignored) for a
// person to look at. Redis: a database of its own (DASHBOARD_E2E_DB, default 9), flushed before
// and after, because the template's stream names are fixed.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import Redis from 'ioredis';

import { dashboardConsumerWorkflow } from './support/dashboard-consumer-workflow.mjs';
import { ensureChromium, launchChromium } from './support/editor-browser.mjs';
import { dashboardLoginCredential, redisCredential } from '../../scripts/local-credentials.mjs';
import { N8nInstance, packThePack, ROOT } from '../../scripts/n8n-rig.mjs';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const DB = Number(process.env.DASHBOARD_E2E_DB ?? 9);
// Not UTC on purpose: the page's "today" must be the workflow time zone's day.
const TIME_ZONE = 'Asia/Kolkata';
const ARTIFACTS = join(ROOT, 'test-artifacts/dashboard');
const DASHBOARD_PATH = 'lead-pipeline/dashboard';

// What workflows/lead-pipeline-dashboard.json shows (dead-letter streams by the consumer's naming).
const FILTER = { stream: 'filterQueue', group: 'newOpportunityProcessor', dlq: 'DLQFilterQueueNewOpportunityProcessor' };
const SYNC = { stream: 'syncQueue', group: 'syncQueueProcessor', dlq: 'DLQSyncQueueSyncQueueProcessor' };
const OUTPUT = 'dashboardE2eDelivered';
const CONSUMER = 'dashboard-e2e-consumer';
const STOPPED_CONSUMER = 'stopped-sync-worker';
const BLOCK_MS = 500;
const CONSUMER_WORKFLOW = dashboardConsumerWorkflow({ id: 'LpDashE2eConsumer', ...FILTER, output: OUTPUT, consumer: CONSUMER, blockMs: BLOCK_MS });

const login = dashboardLoginCredential({ LEAD_PIPELINE_DASHBOARD_PASSWORD: 'e2e-dashboard-pass' }).data;

let n8n;
let redis;
let browser;
let context;
let dashboardUrl;
const started = Date.now();

function timing(label, since = started) {
	process.stderr.write(`[dashboard e2e] ${label}: ${((Date.now() - since) / 1000).toFixed(1)} s\n`);
}

async function until(check, what, timeoutMs = 30_000) {
	const deadline = Date.now() + timeoutMs;
	while (!(await check())) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${n8n.logs.slice(-3000)}`);
		await new Promise((r) => setTimeout(r, 100));
	}
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const basicAuth = (user, password) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
const lead = (traceId) => ['message', JSON.stringify({ traceId, source: 'WEBSITE', leadData: { phone: '+919800000000' } })];

/** The day a date falls on in a time zone, YYYY-MM-DD (computed here, not with the pack's helpers). */
function dayIn(at, timeZone) {
	return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(at);
}

// ---- What Redis says ---------------------------------------------------------------------------

/** Waiting (group lag), in flight (XPENDING), dead letters (XLEN), consumers with their pending. */
async function queueTruth({ stream, group, dlq }) {
	const groups = await redis.xinfo('GROUPS', stream);
	const info = groups.map((g) => Object.fromEntries(g.reduce((pairs, v, i) => (i % 2 ? pairs : [...pairs, [v, g[i + 1]]]), []))).find((g) => g.name === group);
	const [inFlight] = await redis.xpending(stream, group);
	const consumers = (await redis.xinfo('CONSUMERS', stream, group)).map((c) => ({ name: c[c.indexOf('name') + 1], pending: c[c.indexOf('pending') + 1] }));
	return { waiting: Number(info.lag), inFlight: Number(inFlight), dlqSize: await redis.xlen(dlq), consumers };
}

/** Today's counters in the workflow time zone's day hash, read and summed here from the raw fields. */
async function todayTruth() {
	const date = dayIn(new Date(), TIME_ZONE);
	const hash = await redis.hgetall(`leads:metrics:day:${TIME_ZONE}:${date}`);
	const sum = (counter) => Object.entries(hash).filter(([f]) => f === counter || f.startsWith(`${counter}|`)).reduce((n, [, v]) => n + Number(v), 0);
	const byLabel = (counter) => Object.fromEntries(Object.entries(hash).filter(([f]) => f.startsWith(`${counter}|`)).map(([f, v]) => [decodeURIComponent(f.split('|')[1]), Number(v)]));
	const percent = (part, whole) => `${((part / whole) * 100).toFixed(1)}%`;
	const crm = byLabel('crm');
	const whatsapp = byLabel('whatsapp');
	return {
		date,
		fields: Object.keys(hash).length,
		received: sum('received'),
		new: sum('new'),
		perSource: byLabel('received'),
		duplicateRate: percent(sum('duplicate'), sum('new') + sum('duplicate')),
		duplicateRatio: sum('duplicate') / (sum('new') + sum('duplicate')),
		crmSuccessRate: percent(crm.synced ?? 0, (crm.synced ?? 0) + (crm.failed ?? 0)),
		whatsappSuccessRate: percent(whatsapp.sent ?? 0, (whatsapp.sent ?? 0) + (whatsapp.failed ?? 0)),
	};
}

// ---- What the page shows -----------------------------------------------------------------------

/** The queue table by column heading, the "Today" cards by label, and the per-source table. */
async function readDashboard(page) {
	return await page.evaluate(() => {
		const text = (el) => (el?.textContent ?? '').trim();
		const tables = [...document.querySelectorAll('table')];
		const queueTable = tables.find((t) => text(t.querySelector('th')) === 'Queue');
		const rows = [...queueTable.querySelectorAll('tr')];
		const heads = [...rows[0].querySelectorAll('th')].map(text);
		const queues = {};
		for (const row of rows.slice(1)) {
			const cells = [...row.querySelectorAll('td')];
			queues[text(cells[0].querySelector('strong'))] = Object.fromEntries(heads.map((h, i) => [h, cells[i].innerText.split('\n').map((s) => s.trim()).filter(Boolean)]));
		}
		const cards = Object.fromEntries([...document.querySelectorAll('.card')].map((c) => [text(c.querySelector('.label')), text(c.querySelector('.value'))]));
		const sourceTable = tables.find((t) => text(t.querySelector('caption')) === 'Leads per source today');
		const perSource = Object.fromEntries([...sourceTable.querySelectorAll('tr')].slice(1).map((r) => [...r.querySelectorAll('td')].map(text)).filter((cells) => cells.length === 2));
		const todayHeading = [...document.querySelectorAll('h2')].map(text).find((h) => h.startsWith('Today'));
		return { headline: text(document.querySelector('h1')), queues, cards, perSource, todayHeading };
	});
}

const count = (text) => Number(String(text).replace(/,/g, ''));

/** The numbers of one queue row as numbers (the dead-letter cell also names the DLQ stream). */
function shownQueue(view, stream) {
	const row = view.queues[stream];
	assert.ok(row, `no row for ${stream} on the page: ${JSON.stringify(Object.keys(view.queues))}`);
	return { waiting: count(row.Waiting[0]), inFlight: count(row['In flight'][0]), dlqSize: count(row['Dead letters'][0]), dlqStream: row['Dead letters'][1], status: row.Status[0], consumers: row.Consumers };
}

async function openDashboard(page) {
	const response = await page.goto(dashboardUrl);
	assert.equal(response.status(), 200, await response.text());
	await page.locator('h1').first().waitFor();
	return page;
}

function queueRowLocator(page, stream) {
	return page.locator('tr', { has: page.locator('strong', { hasText: new RegExp(`^${stream}$`) }) });
}

// ---- Known state, then n8n ----------------------------------------------------------------------

/**
 * filterQueue: 5 entries the consumer drains on start; 4 dead letters. syncQueue (nobody consumes
 * it here): 7 entries, 3 of them delivered to a consumer that stopped (pending), 4 waiting; 2 dead
 * letters. Counters for today and for yesterday (which "today" must not include), written by the
 * pack's own recorder from the built dist (the same code the nodes run).
 */
async function prepareRedis() {
	for (let i = 1; i <= 5; i++) await redis.xadd(FILTER.stream, '*', ...lead(`warmup-${i}`));
	const deadLetter = (queue, group, i) => ['message', JSON.stringify({ traceId: `dead-${queue}-${i}` }), 'originalQueue', queue, 'originalId', `1-${i}`, 'group', group, 'failedAt', new Date().toISOString(), 'retryCount', '5', 'lastError', 'CRM answered 500'];
	for (let i = 1; i <= 4; i++) await redis.xadd(FILTER.dlq, '*', ...deadLetter(FILTER.stream, FILTER.group, i));
	await redis.xgroup('CREATE', SYNC.stream, SYNC.group, '0', 'MKSTREAM');
	for (let i = 1; i <= 7; i++) await redis.xadd(SYNC.stream, '*', ...lead(`sync-${i}`));
	await redis.xreadgroup('GROUP', SYNC.group, STOPPED_CONSUMER, 'COUNT', 3, 'STREAMS', SYNC.stream, '>');
	for (let i = 1; i <= 2; i++) await redis.xadd(SYNC.dlq, '*', ...deadLetter(SYNC.stream, SYNC.group, i));

	const { recordDecisions } = createRequire(import.meta.url)(join(ROOT, 'dist/nodes/shared/metrics/recorder.js'));
	const events = (prefix, counter, labels, n) => Array.from({ length: n }, (_, i) => ({ traceId: `${prefix}-${counter}-${JSON.stringify(labels)}-${i}`, counter, labels }));
	const today = [
		...events('t', 'received', { channel: 'website' }, 5),
		...events('t', 'received', { channel: 'whatsapp' }, 3),
		...events('t', 'received', { channel: 'instagram' }, 1),
		...events('t', 'new', {}, 6),
		...events('t', 'duplicate', { matchedOn: 'phone' }, 2),
		...events('t', 'duplicate', { matchedOn: 'email' }, 1),
		...events('t', 'crm', { outcome: 'synced' }, 4),
		...events('t', 'crm', { outcome: 'failed' }, 1),
		...events('t', 'whatsapp', { outcome: 'sent' }, 3),
		...events('t', 'whatsapp', { outcome: 'failed' }, 1),
	];
	const yesterday = [...events('y', 'received', { channel: 'website' }, 50), ...events('y', 'new', {}, 40), ...events('y', 'duplicate', { matchedOn: 'phone' }, 10)];
	const options = { namespace: 'leads', timeZone: TIME_ZONE };
	const recorded = [
		await recordDecisions(redis, options, today),
		await recordDecisions(redis, { ...options, now: new Date(Date.now() - 86_400_000) }, yesterday),
	];
	for (const r of recorded) assert.ok(r.ok && r.invalid.length === 0, JSON.stringify(r));
}

before(async () => {
	mkdirSync(ARTIFACTS, { recursive: true });
	redis = new Redis(REDIS_URL, { db: DB });
	await redis.flushdb();
	ensureChromium();
	n8n = await N8nInstance.create({ env: { GENERIC_TIMEZONE: TIME_ZONE } });
	n8n.installPack(packThePack(mkdtempSync(join(tmpdir(), 'lead-pipeline-pack-'))));
	timing('pack built and installed');
	await prepareRedis();
	n8n.importCredentials([redisCredential(REDIS_URL, DB), dashboardLoginCredential({ LEAD_PIPELINE_DASHBOARD_PASSWORD: login.password })]);
	const consumerFile = join(n8n.userFolder, 'dashboard-consumer.json');
	writeFileSync(consumerFile, JSON.stringify(CONSUMER_WORKFLOW));
	for (const file of [join(ROOT, 'workflows/lead-pipeline-dashboard.json'), consumerFile]) n8n.importWorkflow(file);
	n8n.publishWorkflow('LpDashboardLocal');
	n8n.publishWorkflow(CONSUMER_WORKFLOW.id);
	const n8nStart = Date.now();
	await n8n.start();
	await n8n.waitForWebhook(DASHBOARD_PATH, 'GET');
	dashboardUrl = `${n8n.url}/webhook/${DASHBOARD_PATH}`;
	// The consumer is running once it has drained the 5 entries that were there before n8n started.
	await until(async () => (await redis.xlen(OUTPUT)) === 5 && (await queueTruth(FILTER)).inFlight === 0, 'the consumer to drain filterQueue');
	timing('n8n started, consumer drained filterQueue', n8nStart);
	browser = await launchChromium();
	context = await browser.newContext({ viewport: { width: 1400, height: 900 }, httpCredentials: { username: login.user, password: login.password } });
});

after(async () => {
	await browser?.close();
	await n8n?.stop();
	await redis?.flushdb();
	redis?.disconnect();
	timing('whole file');
});

test('without the login the dashboard answers 401 and shows nothing', async () => {
	assert.equal((await fetch(dashboardUrl)).status, 401);
	assert.equal((await fetch(dashboardUrl, { headers: basicAuth(login.user, 'wrong-password') })).status, 401);
	assert.equal((await fetch(`${dashboardUrl}?format=json`)).status, 401);
	// The browser without a login (its HTTP client: a headless page navigation without credentials
	// ends in net::ERR_INVALID_AUTH_CREDENTIALS, there is no prompt) and with a wrong one.
	const anonymous = await browser.newContext();
	const wrongLogin = await browser.newContext({ httpCredentials: { username: login.user, password: 'wrong-password' } });
	try {
		const response = await anonymous.request.get(dashboardUrl);
		assert.equal(response.status(), 401);
		assert.doesNotMatch(await response.text(), /filterQueue|Leads received/);
		const page = await wrongLogin.newPage();
		const refused = await page.goto(dashboardUrl);
		assert.equal(refused.status(), 401);
		assert.doesNotMatch(await page.content(), /filterQueue|Leads received/);
	} finally {
		await anonymous.close();
		await wrongLogin.close();
	}
});

test('the page shows the queue depths, dead letters, leads per source and duplicate rate Redis holds', async () => {
	const page = await openDashboard(await context.newPage());
	await page.screenshot({ path: join(ARTIFACTS, 'dashboard.png'), fullPage: true });
	const view = await readDashboard(page);
	await page.close();
	const [filter, sync, today] = [await queueTruth(FILTER), await queueTruth(SYNC), await todayTruth()];
	process.stderr.write(`[dashboard e2e] Redis: ${JSON.stringify({ filter, sync, today })}\n`);

	// The prepared state really is what the page is checked against (not an empty, all-zero page).
	assert.deepEqual([sync.waiting, sync.inFlight, sync.dlqSize, filter.dlqSize], [4, 3, 2, 4]);
	assert.ok(today.fields > 0 && today.received > 0);

	for (const [ref, truth] of [[FILTER, filter], [SYNC, sync]]) {
		const shown = shownQueue(view, ref.stream);
		assert.deepEqual({ waiting: shown.waiting, inFlight: shown.inFlight, dlqSize: shown.dlqSize, dlqStream: shown.dlqStream }, { waiting: truth.waiting, inFlight: truth.inFlight, dlqSize: truth.dlqSize, dlqStream: ref.dlq }, ref.stream);
		for (const c of truth.consumers) assert.ok(shown.consumers.some((line) => line.startsWith(`${c.name}: ${c.pending} in flight`)), `${ref.stream} consumers: ${shown.consumers}`);
	}
	assert.equal(shownQueue(view, FILTER.stream).status, 'Running');
	assert.match(view.headline, /All queues healthy/);

	assert.equal(view.todayHeading, `Today (${today.date})`);
	assert.equal(count(view.cards['Leads received']), today.received);
	assert.equal(count(view.cards['New leads']), today.new);
	assert.deepEqual(Object.fromEntries(Object.entries(view.perSource).map(([source, n]) => [source, count(n)])), today.perSource);
	assert.equal(view.cards['Duplicate rate'], today.duplicateRate);
	assert.equal(view.cards['CRM success rate'], today.crmSuccessRate);
	assert.equal(view.cards['WhatsApp success rate'], today.whatsappSuccessRate);
});

test('?format=json gives the same numbers as the page and Redis', async () => {
	const response = await context.request.get(`${dashboardUrl}?format=json`);
	assert.equal(response.status(), 200);
	assert.match(response.headers()['content-type'] ?? '', /application\/json/);
	const json = await response.json();
	const page = await openDashboard(await context.newPage());
	const view = await readDashboard(page);
	await page.close();
	const today = await todayTruth();
	for (const ref of [FILTER, SYNC]) {
		const truth = await queueTruth(ref);
		const q = json.health.queues.find((x) => x.stream === ref.stream && x.group === ref.group);
		const shown = shownQueue(view, ref.stream);
		assert.deepEqual({ waiting: q.lag, inFlight: q.inFlight, dlqSize: q.dlqSize }, { waiting: truth.waiting, inFlight: truth.inFlight, dlqSize: truth.dlqSize }, `${ref.stream} JSON vs Redis`);
		assert.deepEqual({ waiting: q.lag, inFlight: q.inFlight, dlqSize: q.dlqSize }, { waiting: shown.waiting, inFlight: shown.inFlight, dlqSize: shown.dlqSize }, `${ref.stream} JSON vs page`);
	}
	const day = json.metrics.days.at(-1);
	assert.equal(day.date, today.date);
	assert.deepEqual(day.breakdown.received, today.perSource);
	assert.equal(day.totals.received, today.received);
	const jsonRatio = day.totals.duplicate / (day.totals.new + day.totals.duplicate);
	assert.equal(jsonRatio, today.duplicateRatio);
	assert.equal(`${(jsonRatio * 100).toFixed(1)}%`, view.cards['Duplicate rate']);
});

test('Pause (confirmed) stops the running consumer; Resume (confirmed) drains what waited', async () => {
	const pauseFlag = `${FILTER.stream}:${FILTER.group}:paused`;
	let page = await openDashboard(await context.newPage());

	// Pause, then the confirmation step: nothing changes before "Yes".
	await queueRowLocator(page, FILTER.stream).getByRole('button', { name: 'Pause', exact: true }).click();
	await page.locator('h1', { hasText: `Pause ${FILTER.stream} (group ${FILTER.group})?` }).waitFor();
	await page.screenshot({ path: join(ARTIFACTS, 'confirm-pause.png'), fullPage: true });
	assert.equal(await redis.exists(pauseFlag), 0, 'paused before the confirmation');
	const pausedAt = Date.now();
	await page.getByRole('button', { name: 'Yes, pause' }).click();
	await page.locator('h1', { hasText: `Paused ${FILTER.stream}` }).waitFor();
	await page.screenshot({ path: join(ARTIFACTS, 'paused-result.png'), fullPage: true });
	assert.equal(JSON.parse(await redis.get(pauseFlag)).by, 'dashboard');
	await until(() => n8n.logs.includes(`Consuming ${FILTER.stream} (group ${FILTER.group}) paused by`), 'the consumer to log the pause', 10 * BLOCK_MS + 10_000);
	timing('pause confirmed → consumer logged "paused"', pausedAt);

	// Entries added while paused stay undelivered for several block intervals.
	const delivered = await redis.xlen(OUTPUT);
	const pausedLeads = Array.from({ length: 12 }, (_, i) => `paused-${i + 1}`);
	for (const traceId of pausedLeads) await redis.xadd(FILTER.stream, '*', ...lead(traceId));
	for (let i = 0; i < 8; i++) {
		await sleep(BLOCK_MS);
		const truth = await queueTruth(FILTER);
		assert.deepEqual({ output: await redis.xlen(OUTPUT), waiting: truth.waiting, inFlight: truth.inFlight }, { output: delivered, waiting: pausedLeads.length, inFlight: 0 }, `while paused, after ${i + 1} block intervals`);
	}
	// The result page goes back to the dashboard by itself after 5 s (meta refresh); a goto on the
	// same tab races that navigation (Playwright then returns no response), so read a fresh tab.
	await page.close();
	page = await openDashboard(await context.newPage());
	const pausedView = await readDashboard(page);
	await page.screenshot({ path: join(ARTIFACTS, 'dashboard-paused.png'), fullPage: true });
	assert.equal(shownQueue(pausedView, FILTER.stream).status, 'Paused');
	assert.match(pausedView.headline, /1 queue paused/);
	assert.equal(shownQueue(pausedView, FILTER.stream).waiting, pausedLeads.length);

	// Resume, confirmed: everything that waited is delivered, once, and nothing stays pending.
	await queueRowLocator(page, FILTER.stream).getByRole('button', { name: 'Resume', exact: true }).click();
	await page.locator('h1', { hasText: `Resume ${FILTER.stream} (group ${FILTER.group})?` }).waitFor();
	assert.equal(await redis.exists(pauseFlag), 1, 'resumed before the confirmation');
	const resumedAt = Date.now();
	await page.getByRole('button', { name: 'Yes, resume' }).click();
	await page.locator('h1', { hasText: `Resumed ${FILTER.stream}` }).waitFor();
	assert.equal(await redis.exists(pauseFlag), 0);
	await until(async () => (await redis.xlen(OUTPUT)) >= delivered + pausedLeads.length && (await queueTruth(FILTER)).inFlight === 0, 'the consumer to drain after Resume');
	timing(`resume confirmed → ${pausedLeads.length} waiting entries delivered`, resumedAt);
	const output = (await redis.xrange(OUTPUT, '-', '+')).slice(delivered).map(([, fields]) => JSON.parse(fields[fields.indexOf('message') + 1]).traceId);
	assert.deepEqual(output.sort(), [...pausedLeads].sort());
	const truth = await queueTruth(FILTER);
	assert.deepEqual({ waiting: truth.waiting, inFlight: truth.inFlight }, { waiting: 0, inFlight: 0 });
	assert.ok(n8n.logs.includes(`Consuming ${FILTER.stream} (group ${FILTER.group}) resumed`), 'no "resumed" in the n8n log');
	await page.close();
});

test('the Dead letters section lists every dead-letter stream of the template; Replay (confirmed) moves them back to their queue', async () => {
	const template = JSON.parse(readFileSync(join(ROOT, 'workflows/lead-pipeline-dashboard.json'), 'utf8'));
	const listed = template.nodes.find((n) => n.type.endsWith('.leadPipelineMetrics')).parameters.deadLetters.deadLetter.map((d) => d.stream);
	const WEBHOOK_DLQ = 'DLQWebhookDelivery';
	const BACK_TO = 'webhookRetryQueue:west';
	assert.ok(listed.includes(WEBHOOK_DLQ) && listed.includes('DLQLeadIntake'), JSON.stringify(listed));
	for (let i = 1; i <= 3; i++) {
		await redis.xadd(WEBHOOK_DLQ, '*', 'message', JSON.stringify({ webhookId: `msg_${i}` }), 'originalQueue', BACK_TO, 'originalId', `1-${i}`, 'group', 'webhookDeliver', 'failedAt', new Date().toISOString(), 'retryCount', '3', 'lastError', 'receiver answered 500');
	}
	await redis.xadd('DLQLeadIntake', '*', 'message', JSON.stringify({ reason: 'honeypot' }));

	const page = await openDashboard(await context.newPage());
	await page.screenshot({ path: join(ARTIFACTS, 'dashboard-dead-letters.png'), fullPage: true });
	const rows = await page.evaluate(() => {
		const table = [...document.querySelectorAll('table')].find((t) => t.querySelector('th')?.textContent === 'Stream');
		return Object.fromEntries([...table.querySelectorAll('tr')].slice(1).map((r) => {
			const cells = [...r.querySelectorAll('td')].map((c) => c.innerText.split('\n').map((s) => s.trim()).filter(Boolean));
			return [cells[0][0], { entries: cells[2], newest: cells[3], actions: cells[5] }];
		}));
	});
	assert.deepEqual(Object.keys(rows).sort(), [...listed].sort());
	assert.equal(count(rows[WEBHOOK_DLQ].entries[0]), 3);
	assert.match(rows[WEBHOOK_DLQ].newest[0], /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
	assert.deepEqual(rows.DLQLeadIntake.entries, ['1', 'cap 100,000']);
	assert.ok(!rows.DLQLeadIntake.actions.includes('Replay dead letters'), 'entries without originalQueue offer no Replay');

	const row = page.locator('tr', { has: page.locator('strong', { hasText: new RegExp(`^${WEBHOOK_DLQ}$`) }) });
	await row.getByRole('button', { name: 'Replay dead letters' }).click();
	await page.locator('h1', { hasText: `Replay dead letters of ${WEBHOOK_DLQ}?` }).waitFor();
	assert.equal(await redis.xlen(WEBHOOK_DLQ), 3, 'replayed before the confirmation');
	await page.getByRole('button', { name: 'Yes, replay dead letters of' }).click();
	await page.locator('h1', { hasText: `Replayed dead letters of ${WEBHOOK_DLQ}` }).waitFor();
	await page.screenshot({ path: join(ARTIFACTS, 'dead-letters-replayed.png'), fullPage: true });
	assert.equal(await redis.xlen(WEBHOOK_DLQ), 0);
	const back = (await redis.xrange(BACK_TO, '-', '+')).map(([, fields]) => JSON.parse(fields[fields.indexOf('message') + 1]).webhookId);
	assert.deepEqual(back, ['msg_1', 'msg_2', 'msg_3']);
	await page.close();
});
