// Starts the pipeline locally: real n8n with this pack installed from its tarball, the loopback
// stand-ins (CRM, WhatsApp, QR, webhook receiver), every credential the templates use (pointed at
// REDIS_URL and the stand-ins unless the environment names real ones), every template in
// workflows/ imported and published, and the owner account. `--sample N` posts N sample leads and
// prints what each stage did with them.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

import Redis from 'ioredis';

import { sandboxSecrets } from './local-credentials.mjs';
import { N8nInstance, packThePack } from './n8n-rig.mjs';
import { installPipeline } from './pipeline-setup.mjs';
import { pipelineStats, statsTable } from './pipeline-stats.mjs';
import { deliveredStatusRequest, postLeads, sampleLeads } from './sample-leads.mjs';
import { startSandboxes } from './sandboxes.mjs';

const say = (text) => process.stdout.write(`[lead-pipeline] ${text}\n`);
const home = process.env.LEAD_PIPELINE_HOME ?? join(homedir(), '.lead-pipeline');

async function redisAnswers(url) {
	const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
	client.on('error', () => undefined);
	try {
		await client.connect();
		await client.ping();
		return true;
	} catch {
		return false;
	} finally {
		client.disconnect();
	}
}

/** Everything this command started, stopped in reverse order on Ctrl-C / SIGTERM / exit. */
const started = [];

async function ensureRedis() {
	const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
	if (await redisAnswers(url)) return url;
	const port = Number(process.env.LEAD_PIPELINE_REDIS_PORT ?? 6390);
	say(`no Redis at ${url}; starting redis-server on 127.0.0.1:${port}`);
	// Not a daemon: this command stops it. In its own process group, so the terminal's Ctrl-C
	// reaches n8n (which then finishes and acknowledges its batches) before Redis is stopped.
	const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmpdir()], {
		stdio: 'ignore',
		detached: true,
	});
	redis.on('error', () => undefined);
	const fallback = `redis://127.0.0.1:${port}`;
	for (let i = 0; i < 50 && redis.exitCode === null; i++) {
		if (await redisAnswers(fallback)) {
			started.push({ what: `redis-server (pid ${redis.pid}, 127.0.0.1:${port})`, stop: () => stopChild(redis) });
			return fallback;
		}
		await new Promise((r) => setTimeout(r, 100));
	}
	redis.kill('SIGKILL');
	throw new Error(`No Redis at ${url} and redis-server could not be started: install Redis >= 6.2 or set REDIS_URL`);
}

async function stopChild(child, graceMs = 10_000) {
	if (child.exitCode !== null || child.signalCode !== null) return;
	const exited = new Promise((r) => child.once('exit', r));
	child.kill('SIGTERM');
	const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
	await exited;
	clearTimeout(timer);
}

let stopping;
function stopEverything() {
	stopping ??= (async () => {
		// n8n first (it finishes and acknowledges its batches while the stand-ins still answer), Redis last.
		const rank = (s) => (s.what.startsWith('n8n') ? 0 : s.what.startsWith('redis') ? 2 : 1);
		for (const { what, stop } of [...started].sort((a, b) => rank(a) - rank(b))) {
			say(`stopping ${what}`);
			await stop().catch(() => undefined);
		}
	})();
	return stopping;
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
	process.on(signal, () => void stopEverything().then(() => process.exit(0)));
}

/** `--sample N`: how many sample leads to post once everything runs (0 = none). */
function sampleCount(argv = process.argv.slice(2)) {
	const i = argv.findIndex((a) => a === '--sample' || a.startsWith('--sample='));
	if (i < 0) return 0;
	const value = argv[i].includes('=') ? argv[i].split('=')[1] : argv[i + 1];
	const n = Number(value ?? 200);
	if (!Number.isInteger(n) || n < 1) throw new Error(`--sample needs a number of leads, got "${value}"`);
	return n;
}

/** Sandbox secrets stay the same across runs (kept in the state folder, readable by this user only). */
function persistentSandboxSecrets() {
	const file = join(home, 'sandbox-secrets.json');
	if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8'));
	const secrets = sandboxSecrets();
	mkdirSync(home, { recursive: true });
	writeFileSync(file, JSON.stringify(secrets), { mode: 0o600 });
	return secrets;
}

async function postSample(n8n, redisUrl, sandbox, credentials, count) {
	const leads = sampleLeads(count);
	say(`posting ${count} sample leads (website, WhatsApp, Instagram, bots; ~15% duplicates, ~2% invalid)`);
	const secrets = { formSecret: credentials.formSecret.data.secret, appSecret: credentials.whatsApp.data.appSecret };
	const results = await postLeads(n8n.url, leads, secrets, { concurrency: 8 });
	const rejected = results.filter((r) => r.status === 400).length;
	const unexpected = results.filter((r) => r.status >= 300 && r.status !== 400);
	if (unexpected.length) say(`unexpected answers: ${unexpected.slice(0, 3).map((r) => `${r.status} ${r.text}`).join('; ')}`);
	const redis = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
	try {
		// Wait until the queues are drained (or stop changing), then play Meta: mark what was sent as delivered.
		let last = '';
		for (let quiet = 0, i = 0; quiet < 4 && i < 240; i++) {
			await new Promise((r) => setTimeout(r, 500));
			const s = await pipelineStats(redis, {});
			const key = JSON.stringify([s.queues, s.crmSynced, s.whatsApp, s.opportunities]);
			const busy = Object.values(s.queues).some((q) => q.pending > 0);
			quiet = key === last && !busy ? quiet + 1 : 0;
			last = key;
		}
		const wamids = [];
		let cursor = '0';
		do {
			const [next, keys] = await redis.scan(cursor, 'MATCH', 'leads:wa:msg:*', 'COUNT', 1000);
			cursor = next;
			wamids.push(...keys.map((k) => k.slice('leads:wa:msg:'.length)));
		} while (cursor !== '0');
		for (let i = 0; i < wamids.length; i += 100) {
			const request = deliveredStatusRequest(wamids.slice(i, i + 100), secrets.appSecret);
			await fetch(`${n8n.url}/webhook/${request.path}`, { method: 'POST', headers: request.headers, body: request.body });
		}
		await new Promise((r) => setTimeout(r, 1500));
		const stats = await pipelineStats(redis, { receiver: await sandbox.summary() });
		say(`sample of ${count} leads, per stage:\n${statsTable(stats, { rejectedAtIntake: rejected })}`);
	} finally {
		redis.disconnect();
	}
}

async function main() {
	const sample = sampleCount();
	const redisUrl = await ensureRedis();
	const n8n = await N8nInstance.create({ userFolder: join(home, 'n8n'), port: Number(process.env.N8N_PORT ?? 5678) });
	n8n.installPack(packThePack(mkdtempSync(join(tmpdir(), 'lead-pipeline-pack-'))));
	const sandbox = await startSandboxes(persistentSandboxSecrets());
	const sandboxEntry = { what: `sandboxes (pid ${sandbox.pid}: Graph API, LeadSquared, in-house CRM, QR session, webhook receiver)`, stop: () => sandbox.stop() };
	started.push(sandboxEntry);
	const { credentials, imported, workflows } = installPipeline(n8n, { redisUrl, sandbox });
	for (const workflow of workflows) say(`imported and published ${workflow.name}`);

	started.push({ what: 'n8n', stop: () => n8n.stop() });
	await n8n.start({ timeoutMs: 600_000 });
	started[started.length - 1].what = `n8n (pid ${n8n.process.pid}, ${n8n.url})`;
	n8n.process.once('exit', (code) => {
		if (stopping) return;
		say(`n8n exited (${code}); stopping the rest`);
		void stopEverything().then(() => process.exit(code ?? 1));
	});
	const owner = await ensureOwner(n8n);
	const shown = (key, text) => (imported.includes(key) ? text : `the ${credentials[key].name} credential`);
	const base = n8n.url;
	say(`Redis: ${redisUrl.replace(/\/\/[^@]*@/, '//***@')}`);
	say(`n8n user folder: ${n8n.userFolder}`);
	say(`Editor: ${base}  (${owner})`);
	say('Webhook URLs:');
	say(`  Website form:        POST ${base}/webhook/leads  (JSON or form; 202 { traceId })`);
	say(`  Bulk import:         POST ${base}/webhook/leads/import  (+ GET ?importId=; HMAC: ${shown('formSecret', `secret ${credentials.formSecret.data.secret}`)})`);
	say(`  Bots:                POST ${base}/webhook/bots  (HMAC, same secret)`);
	say(`  Meta callback URL:   ${base}/webhook/meta  (WhatsApp + Instagram; verify token ${shown('whatsApp', credentials.whatsApp.data.verifyToken)})`);
	say(`  Qualification:       POST ${base}/webhook/lead-pipeline/qualify  (header ${credentials.agentKey.data.name}: ${shown('agentKey', credentials.agentKey.data.value)})`);
	say(`  Admin promote form:  ${base}/form/lead-pipeline/promote  (dashboard login)`);
	say(`  Dashboard:           ${base}/webhook/lead-pipeline/dashboard  (${shown('dashboardLogin', `login ${credentials.dashboardLogin.data.user} / ${credentials.dashboardLogin.data.password}`)})`);
	say(`Stand-ins: in-house CRM ${sandbox.urls.crm}, LeadSquared ${sandbox.urls.leadSquared}, WhatsApp Graph ${sandbox.urls.graph}, QR ${sandbox.urls.qr}, webhooks ${sandbox.urls.webhooks} (what they received: ${sandbox.urls.admin}/summary)`);
	// Printed order: what a person reads (Redis, n8n, stand-ins); stopped: n8n first, Redis last.
	const order = (s) => (s.what.startsWith('redis') ? 0 : s.what.startsWith('n8n') ? 1 : 2);
	say(`Started: ${[...started].sort((a, b) => order(a) - order(b)).map((s) => s.what).join('; ')}`);
	say('Ctrl+C stops everything listed above.');
	n8n.process.stdout.pipe(process.stdout);
	n8n.process.stderr.pipe(process.stderr);
	if (sample) {
		for (const path of ['leads', 'bots', 'meta']) await n8n.waitForWebhook(path);
		await postSample(n8n, redisUrl, sandbox, credentials, sample);
	}
}

/** Creates the owner account on a fresh instance; returns what to tell the user about the login. */
async function ensureOwner(n8n) {
	const email = process.env.N8N_OWNER_EMAIL ?? 'owner@lead-pipeline.local';
	const password = process.env.N8N_OWNER_PASSWORD ?? `Lp-${randomBytes(9).toString('base64url')}1`;
	const response = await fetch(`${n8n.url}/rest/owner/setup`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ email, firstName: 'Lead', lastName: 'Ops', password }),
	});
	if (response.ok) return `owner login ${email} / ${process.env.N8N_OWNER_PASSWORD ? '(N8N_OWNER_PASSWORD)' : password}`;
	return 'log in with the owner account created on the first run';
}

try {
	await main();
} catch (error) {
	// Whatever failed, leave nothing running that this command started.
	await stopEverything();
	process.stderr.write(`[lead-pipeline] ${error instanceof Error ? error.message : String(error)}\n`);
	process.exit(1);
}
