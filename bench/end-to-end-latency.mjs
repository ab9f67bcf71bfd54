// End-to-end latency of the whole pipeline set up as `npm start` sets it up (every template in
// workflows/, the loopback stand-ins, a redis-server of the run's own): website leads posted
// open-loop at a steady rate (default 200 leads/s for 30 s; --rates=20,200 runs each in turn) to
// POST /webhook/leads, all to NO_FILTER destinations (Maldives, Singapore: straight to the CRM),
// each with its own phone, email and name. Open loop: a post leaves on schedule whatever the answers,
// so a slow n8n cannot slow the arrivals. Latency per traceId = the in-house CRM stand-in's receipt
// of POST /opportunities carrying it − the 202 that returned it; 503s ("retry", e.g. Redis not
// answering in time) are counted with the reasons n8n logged, not retried.
// Two changes to `npm start`: the CRM Sync rate limit is the stand-in's (2,000 calls/s) instead of
// the template's 100 calls/s, a real CRM plan's budget that alone holds a lead (4 calls) to 25/s (the
// full-pipeline e2e test does the same), and successful executions are not stored (below).
// Baseline in the same n8n, at the same rate, right before each run: a bare Webhook → Respond to
// Webhook workflow, the round trip of the cheapest HTTP-started execution. It is n8n's own floor for
// any lead path that starts with a webhook, measured with the same client and load; a trigger →
// No-Op run would leave out the HTTP intake every lead goes through. Between phases the bench waits
// until n8n is idle (< 15 % of a core for 2 s), so no phase pays for the last one's backlog. A warm-up
// (2 s at up to 50/s) runs through to the CRM first. Prints figures and ratios; asserts nothing.
// --leads-per-request=N (N > 1): the leads arrive as bulk imports of N leads each (POST
// /webhook/leads/import, HMAC-signed, rate/N requests/s), the way a form backend or a CRM export
// sends leads in volume; a lead's latency then counts from its import request's answer, and the
// baseline runs at the same request rate.
// --cpu-profile=<file.cpuprofile>: n8n's CPU profile (DevTools) of the first rate's run phase.
//   node bench/end-to-end-latency.mjs [--rates=200] [--seconds=30] [--baseline-seconds=5] [--warmup-seconds=2] [--leads-per-request=1]
import { createHmac, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

import Redis from 'ioredis';

import { sandboxSecrets } from '../scripts/local-credentials.mjs';
import { N8nInstance, packThePack } from '../scripts/n8n-rig.mjs';
import { installPipeline } from '../scripts/pipeline-setup.mjs';
import { expectedProcess } from '../scripts/sample-leads.mjs';
import { startSandboxes } from '../scripts/sandboxes.mjs';
import { openLoad, percentile } from './http-load.mjs';
import { connectInspector, inspectorUrl } from './inspector.mjs';
import { startRedisServer } from './redis-server.mjs';

const arg = (name, fallback) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const RATES = (process.argv.find((a) => a.startsWith('--rates='))?.split('=')[1] ?? '200').split(',').map(Number);
const SECONDS = arg('seconds', 30);
const BASELINE_SECONDS = arg('baseline-seconds', 5);
const WARMUP_SECONDS = arg('warmup-seconds', 2);
const PER_REQUEST = Math.max(1, Math.floor(arg('leads-per-request', 1)));
const PROFILE_FILE = process.argv.find((a) => a.startsWith('--cpu-profile='))?.split('=')[1];
const FORM_SECRET = randomBytes(24).toString('hex');
const CRM_RATE_LIMIT = 2000;
const DESTINATIONS = ['Maldives', 'Singapore'];
const out = (line) => process.stdout.write(`${line}\n`);
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const ms = (v) => (Number.isNaN(v) ? 'n/a' : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v.toFixed(1)} ms`);
const spread = (values) => `p50 ${ms(percentile(values, 50))}, p90 ${ms(percentile(values, 90))}, p99 ${ms(percentile(values, 99))}, max ${ms(Math.max(...values))} (n=${values.length})`;

for (const destination of DESTINATIONS) {
	if (expectedProcess({ channel: 'WEBSITE', destination }) !== 'NO_FILTER') throw new Error(`${destination} is no longer a NO_FILTER destination in workflows/filter-queue.json`);
}

/** The templates as shipped, but the CRM Sync's rate limit is the stand-in's own (see above). */
function withStandInCrmBudget(workflow) {
	for (const node of workflow.nodes) {
		if (node.type === 'n8n-nodes-lead-pipeline.crmSync') node.parameters.options = { ...node.parameters.options, rateLimit: CRM_RATE_LIMIT, rateWindowSeconds: 1 };
	}
	return workflow;
}

const bare = {
	id: 'LpBenchLatBare01',
	name: 'bench: bare webhook (latency baseline)',
	nodes: [
		{ id: 'lat-bare-1', name: 'Webhook', type: 'n8n-nodes-base.webhook', typeVersion: 2.1, position: [0, 0], webhookId: 'lat-bare-w', parameters: { httpMethod: 'POST', path: 'bench-latency-bare', responseMode: 'responseNode', options: {} } },
		{ id: 'lat-bare-2', name: 'Respond', type: 'n8n-nodes-base.respondToWebhook', typeVersion: 1.1, position: [200, 0], parameters: { respondWith: 'json', responseBody: '={{ { "ok": true } }}', options: { responseCode: 202 } } },
	],
	connections: { Webhook: { main: [[{ node: 'Respond', type: 'main', index: 0 }]] } },
	settings: { executionOrder: 'v1' },
	active: false,
};

const runId = Date.now().toString(36).slice(-5);
let leadNo = 0;
/** A website lead with its own phone, email and name (Dedupe sees a new person each time). */
function lead() {
	const i = leadNo++;
	return { name: `Latency ${runId} ${i}`, phone: `+9197${String(10_000_000 + ((parseInt(runId, 36) * 7919 + i) % 90_000_000)).slice(-8)}`, email: `latency.${runId}.${i}@example.com`, destination: DESTINATIONS[i % DESTINATIONS.length], utm_source: 'bench' };
}
/** A website form post of one lead. */
const leadBody = () => JSON.stringify(lead());
let importNo = 0;
/** A bulk import of PER_REQUEST leads, signed as the Bulk import trigger requires (HMAC of the body). */
function importBody() {
	const body = JSON.stringify({ importId: `latency-${runId}-${importNo++}`, leads: Array.from({ length: PER_REQUEST }, lead) });
	return { body, headers: { 'x-lead-signature': createHmac('sha256', FORM_SECRET).update(body).digest('hex') } };
}

const traceIdOf = (record) => {
	try {
		return JSON.parse(record.body).traceId;
	} catch {
		return undefined;
	}
};
/** The leads a request carried, as [key, answered record]: traceId for a form post (from its answer), email for an import. */
function acceptedLeads(records) {
	if (PER_REQUEST === 1) return records.filter((r) => r.status === 202 && traceIdOf(r)).map((r) => [traceIdOf(r), r]);
	return records.filter((r) => r.status === 200 && JSON.parse(r.body).successful === PER_REQUEST).flatMap((r) => JSON.parse(r.sent).leads.map((l) => [l.email, r]));
}
const statuses = (records) => Object.fromEntries([...records.reduce((m, r) => m.set(r.status, (m.get(r.status) ?? 0) + 1), new Map())]);

/**
 * Waits until the CRM stand-in holds an opportunity for every key (traceId, or the lead's email for
 * imports: their answer names no traceIds), or 60 s pass without a new one.
 */
async function crmReceipts(sandbox, keys) {
	const wanted = new Set(keys);
	let seen = -1;
	let changedAt = Date.now();
	for (;;) {
		const emails = PER_REQUEST === 1 ? undefined : new Map((await sandbox.read('/crm/leads')).map((l) => [l.id, l.email]));
		const keyOf = (o) => (emails ? emails.get(o.leadId) : o.traceId);
		const found = (await sandbox.read('/crm/opportunities')).filter((o) => wanted.has(keyOf(o)));
		const receipts = new Map(found.map((o) => [keyOf(o), o.receivedAt]));
		if (receipts.size !== seen) [seen, changedAt] = [receipts.size, Date.now()];
		if (receipts.size >= wanted.size || Date.now() - changedAt > 60_000) return Object.assign(receipts, { traceIds: new Map(found.map((o) => [keyOf(o), o.traceId])) });
		await sleep(500);
	}
}

/** traceId → when it was added to syncQueue (its entry id's milliseconds). */
async function syncQueueTimes(url) {
	const redis = new Redis(url);
	try {
		const times = new Map();
		for (const [id, fields] of await redis.xrange('syncQueue', '-', '+')) {
			const message = JSON.parse(fields[fields.indexOf('message') + 1] ?? '{}');
			const traceId = message.traceID ?? message.traceId;
			if (traceId && !times.has(traceId)) times.set(traceId, Number(id.split('-')[0]));
		}
		return times;
	} finally {
		redis.disconnect();
	}
}

/** CPU seconds a process has used (user + system), from /proc. */
function cpuSeconds(pid) {
	const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
	return (Number(fields[11]) + Number(fields[12])) / 100;
}
/** Waits until n8n uses under 15 % of a core for 2 s running (at most 5 min): the last phase's backlog is done. */
async function settle(pid) {
	const started = Date.now();
	let quiet = 0;
	let before = cpuSeconds(pid);
	while (quiet < 2 && Date.now() - started < 300_000) {
		await sleep(1000);
		const now = cpuSeconds(pid);
		quiet = now - before < 0.15 ? quiet + 1 : 0;
		before = now;
	}
	return (Date.now() - started) / 1000;
}

/** Counts n8n's log lines that explain refusals (the rig's own log keeps only a tail). */
function logCounter(child) {
	const patterns = [/Lead Trigger could not accept a lead: (.{0,80})/, /(Database ping failed)/, /(Database connection recovered)/];
	const counts = new Map();
	let partial = '';
	const onData = (chunk) => {
		const lines = (partial + chunk.toString()).split('\n');
		partial = lines.pop();
		for (const line of lines) {
			for (const pattern of patterns) {
				const match = pattern.exec(line);
				if (match) counts.set(match[1], (counts.get(match[1]) ?? 0) + 1);
			}
		}
	};
	child.stdout.on('data', onData);
	child.stderr.on('data', onData);
	return { take: () => { const taken = [...counts].sort((a, b) => b[1] - a[1]); counts.clear(); return taken; } };
}
const logged = (taken) => (taken.length ? `; n8n logged ${taken.slice(0, 4).map(([what, n]) => `${n}× "${what}"`).join(', ')}` : '');
/** The answers other than `ok` (202; an import's 200), by body. */
function refusedWith(records, ok = 202) {
	const bodies = new Map();
	for (const r of records.filter((x) => x.status !== ok)) bodies.set(`${r.status} ${r.body.slice(0, 90)}`, (bodies.get(`${r.status} ${r.body.slice(0, 90)}`) ?? 0) + 1);
	return bodies.size ? `; answers other than ${ok}: ${[...bodies].sort((a, b) => b[1] - a[1]).slice(0, 3).map(([body, n]) => `${n}× ${body}`).join(' | ')}` : '';
}

const redisServer = await startRedisServer();
let sandbox;
let inspector;
const n8n = await N8nInstance.create();
try {
	sandbox = await startSandboxes(sandboxSecrets());
	n8n.installPack(packThePack(mkdtempSync(join(tmpdir(), 'lead-pipeline-pack-'))));
	installPipeline(n8n, { redisUrl: redisServer.url, sandbox, env: { LEAD_PIPELINE_FORM_SECRET: FORM_SECRET }, fresh: true, transform: withStandInCrmBudget });
	const bareFile = join(n8n.userFolder, 'bench-latency-bare.json');
	writeFileSync(bareFile, JSON.stringify(bare));
	n8n.importWorkflow(bareFile);
	n8n.publishWorkflow(bare.id);
	// `npm start`'s environment but for one setting the other benches and any high-volume n8n use:
	// successful runs not stored (else the baseline measures 200 SQLite writes/s; the pipeline's
	// intake starts no executions and its consumers a few per second).
	const nodeOptions = [process.env.NODE_OPTIONS, PROFILE_FILE ? '--inspect=127.0.0.1:0' : ''].filter(Boolean).join(' ');
	await n8n.start({ timeoutMs: 600_000, env: { EXECUTIONS_DATA_SAVE_ON_SUCCESS: 'none', ...(nodeOptions ? { NODE_OPTIONS: nodeOptions } : {}) } });
	inspector = PROFILE_FILE ? await connectInspector(inspectorUrl(n8n.logs)) : undefined;
	const n8nLog = logCounter(n8n.process);
	for (const path of ['leads', 'leads/import', 'bench-latency-bare']) await n8n.waitForWebhook(path);
	const redis = new Redis(redisServer.url);
	for (const stream of ['filterQueue', 'syncQueue']) {
		while (!(await redis.xinfo('GROUPS', stream).then((g) => g.length > 0, () => false))) await sleep(200);
	}
	redis.disconnect();
	out(`n8n ${n8n.url} with every template (CRM Sync at ${CRM_RATE_LIMIT} calls/s), own redis-server, stand-ins; load average ${load()} (2 cores, shared)`);
	const intake = `${n8n.url}/webhook/${PER_REQUEST === 1 ? 'leads' : 'leads/import'}`;
	const makeBody = PER_REQUEST === 1 ? leadBody : importBody;
	const what = PER_REQUEST === 1 ? 'form posts' : `imports of ${PER_REQUEST} leads`;

	const warmupRate = Math.min(RATES[0], 50) / PER_REQUEST;
	const warmup = await openLoad(intake, { rate: warmupRate, seconds: WARMUP_SECONDS, makeBody });
	const warmed = await crmReceipts(sandbox, acceptedLeads(warmup.records).map(([key]) => key));
	out(`warm-up: ${warmup.records.length} ${what} at ${warmupRate}/s ${JSON.stringify(statuses(warmup.records))}, ${warmed.size} leads in the CRM; settled in ${(await settle(n8n.process.pid)).toFixed(0)} s${logged(n8nLog.take())}`);

	for (const rate of RATES) {
		const requestRate = rate / PER_REQUEST;
		out(`\n${rate} leads/s (${requestRate} ${what}/s):`);
		const baseline = await openLoad(`${n8n.url}/webhook/bench-latency-bare`, { rate: requestRate, seconds: BASELINE_SECONDS, makeBody: leadBody });
		const baselineLatency = baseline.records.filter((r) => r.status === 202).map((r) => r.answeredAt - r.scheduledAt);
		out(`  baseline, bare Webhook → Respond to Webhook, ${baseline.records.length} posts at ${requestRate}/s (sent at ${(baseline.records.length / baseline.sendSeconds).toFixed(1)}/s) ${JSON.stringify(statuses(baseline.records))}: ${spread(baselineLatency)}${refusedWith(baseline.records)}${logged(n8nLog.take())}; load ${load()}; settled in ${(await settle(n8n.process.pid)).toFixed(0)} s`);

		const send = () => openLoad(intake, { rate: requestRate, seconds: SECONDS, makeBody });
		let run;
		if (inspector && rate === RATES[0]) {
			let profile;
			[run, profile] = await inspector.profile(send);
			writeFileSync(PROFILE_FILE, JSON.stringify(profile));
			out(`  n8n's CPU profile of this run phase: ${PROFILE_FILE}`);
		} else run = await send();
		const accepted = acceptedLeads(run.records);
		const acceptedRequests = new Set(accepted.map(([, r]) => r));
		const lastAnswer = Date.now();
		const receipts = await crmReceipts(sandbox, accepted.map(([key]) => key));
		const intakeLatency = [...acceptedRequests].map((r) => r.answeredAt - r.scheduledAt);
		const first = run.records[0]?.scheduledAt ?? 0;
		const answeredFor = (Math.max(...run.records.map((r) => r.answeredAt)) - first) / 1000;
		const endToEnd = accepted.filter(([key]) => receipts.has(key)).map(([key, r]) => ({ at: r.scheduledAt - first, latency: receipts.get(key) - r.answeredAt }));
		const receivedAt = [...receipts.values()].sort((a, b) => a - b);
		const crmRate = receivedAt.length > 1 ? (receivedAt.length - 1) / ((receivedAt.at(-1) - receivedAt[0]) / 1000) : NaN;
		out(`  intake: ${run.records.length} ${what} at ${requestRate}/s (sent at ${(run.records.length / run.sendSeconds).toFixed(1)}/s) ${JSON.stringify(statuses(run.records))}: ${(accepted.length / answeredFor).toFixed(1)} leads accepted/s over the ${answeredFor.toFixed(1)} s until the last answer; schedule → ${PER_REQUEST === 1 ? 202 : 200}: ${spread(intakeLatency)}${refusedWith(run.records, PER_REQUEST === 1 ? 202 : 200)}${logged(n8nLog.take())}`);
		out(`  end to end, 202 → the CRM stand-in receives POST /opportunities: ${receipts.size}/${accepted.length} accepted leads in the CRM (${accepted.length - receipts.size} missing ${((Date.now() - lastAnswer) / 1000).toFixed(0)} s after the last answer); ${spread(endToEnd.map((e) => e.latency))}; the CRM received ${crmRate.toFixed(1)} leads/s`);
		const windows = [];
		for (let from = 0; from < SECONDS * 1000; from += 10_000) {
			const inWindow = endToEnd.filter((e) => e.at >= from && e.at < from + 10_000).map((e) => e.latency);
			if (inWindow.length) windows.push(`${from / 1000}–${from / 1000 + 10} s: p50 ${ms(percentile(inWindow, 50))}, p99 ${ms(percentile(inWindow, 99))} (n=${inWindow.length})`);
		}
		// Where the time goes: the syncQueue entry's id is the time the Filter Router's branch queued the lead.
		const queuedAt = await syncQueueTimes(redisServer.url);
		const stages = endToEnd.length ? accepted.filter(([key]) => queuedAt.has(receipts.traceIds.get(key))).map(([key, r]) => ({ toSync: queuedAt.get(receipts.traceIds.get(key)) - r.answeredAt, toCrm: receipts.get(key) - queuedAt.get(receipts.traceIds.get(key)) })) : [];
		if (stages.length) out(`  by stage: answer → queued on syncQueue (filter queue: consumer, Dedupe, Filter Router) ${spread(stages.map((x) => x.toSync))}; syncQueue → CRM receipt (CRM Sync) ${spread(stages.map((x) => x.toCrm))}`);
		out(`  by posting time (a growing latency = a backlog): ${windows.join('; ')}`);
		const e2e = endToEnd.map((e) => e.latency);
		out(`  end to end / bare webhook round trip: p50 ${(percentile(e2e, 50) / percentile(baselineLatency, 50)).toFixed(1)}×, p99 ${(percentile(e2e, 99) / percentile(baselineLatency, 99)).toFixed(1)}×; load average ${load()}; settled in ${(await settle(n8n.process.pid)).toFixed(0)} s`);
	}
} finally {
	inspector?.close();
	await n8n.stop();
	await sandbox?.stop();
	await redisServer.stop();
}
