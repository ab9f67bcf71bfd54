// Starts the pipeline locally: real n8n with this pack installed from its tarball, the Redis
// credential pointed at REDIS_URL, every template in workflows/ imported and published.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

import Redis from 'ioredis';

import { dashboardLoginCredential, redisCredential, whatsAppCredential } from './local-credentials.mjs';
import { N8nInstance, packThePack, ROOT } from './n8n-rig.mjs';

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
		for (const { what, stop } of started.reverse()) {
			say(`stopping ${what}`);
			await stop().catch(() => undefined);
		}
	})();
	return stopping;
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
	process.on(signal, () => void stopEverything().then(() => process.exit(0)));
}

async function main() {
	const redisUrl = await ensureRedis();
	const n8n = await N8nInstance.create({ userFolder: join(home, 'n8n'), port: Number(process.env.N8N_PORT ?? 5678) });
	n8n.installPack(packThePack(mkdtempSync(join(tmpdir(), 'lead-pipeline-pack-'))));
	const dashboardLogin = dashboardLoginCredential();
	// Credentials edited in the editor are kept unless the environment names new values.
	const credentials = [
		[redisCredential(redisUrl), process.env.REDIS_URL !== undefined],
		[whatsAppCredential(), process.env.WHATSAPP_APP_SECRET !== undefined],
		[dashboardLogin, process.env.LEAD_PIPELINE_DASHBOARD_PASSWORD !== undefined],
	].filter(([credential, fromEnv]) => fromEnv || !n8n.hasCredential(credential.id));
	if (credentials.length) n8n.importCredentials(credentials.map(([credential]) => credential));
	// The login is shown once, when this command creates it (it is the local user's own secret).
	const newDashboardLogin = credentials.some(([credential]) => credential === dashboardLogin);
	const workflowDir = join(ROOT, 'workflows');
	for (const file of readdirSync(workflowDir).filter((f) => f.endsWith('.json'))) {
		const workflow = JSON.parse(readFileSync(join(workflowDir, file), 'utf8'));
		n8n.importWorkflow(join(workflowDir, file));
		n8n.publishWorkflow(workflow.id);
		say(`imported and published ${file} (${workflow.name})`);
	}

	started.push({ what: 'n8n', stop: () => n8n.stop() });
	await n8n.start({ timeoutMs: 600_000 });
	started[started.length - 1].what = `n8n (pid ${n8n.process.pid}, ${n8n.url})`;
	n8n.process.once('exit', (code) => {
		if (stopping) return;
		say(`n8n exited (${code}); stopping the rest`);
		void stopEverything().then(() => process.exit(code ?? 1));
	});
	say(`Redis: ${redisUrl.replace(/\/\/[^@]*@/, '//***@')}`);
	say(`n8n user folder: ${n8n.userFolder}`);
	say(`Editor: ${n8n.url}  (first visit: create the owner account)`);
	say(`Website leads: POST ${n8n.url}/webhook/leads (JSON or form; 202 { traceId })`);
	say(`WhatsApp webhook: ${n8n.url}/webhook/whatsapp (app secret / verify token from WHATSAPP_APP_SECRET / WHATSAPP_VERIFY_TOKEN)`);
	say(`Dashboard: ${n8n.url}/webhook/lead-pipeline/dashboard  (${newDashboardLogin ? `login ${dashboardLogin.data.user} / ${dashboardLogin.data.password}` : 'login: the Lead Pipeline Dashboard Login credential'})`);
	say(`Started: ${started.map((s) => s.what).join('; ')}`);
	say('Ctrl+C stops everything listed above.');
	n8n.process.stdout.pipe(process.stdout);
	n8n.process.stderr.pipe(process.stderr);
}

try {
	await main();
} catch (error) {
	// Whatever failed, leave nothing running that this command started.
	await stopEverything();
	process.stderr.write(`[lead-pipeline] ${error instanceof Error ? error.message : String(error)}\n`);
	process.exit(1);
}
