// Starts the pipeline locally: real n8n with this pack installed from its tarball, the Redis
// credential pointed at REDIS_URL, every template in workflows/ imported and published.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

import Redis from 'ioredis';

import { redisCredential, whatsAppCredential } from './local-credentials.mjs';
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

async function ensureRedis() {
	const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
	if (await redisAnswers(url)) return url;
	const port = 6390;
	say(`no Redis at ${url}; starting redis-server on 127.0.0.1:${port}`);
	const started = spawnSync('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--daemonize', 'yes', '--save', '', '--dir', tmpdir()]);
	const fallback = `redis://127.0.0.1:${port}`;
	if (started.status !== 0 || !(await redisAnswers(fallback))) {
		throw new Error(`No Redis at ${url} and redis-server could not be started: install Redis >= 6.2 or set REDIS_URL`);
	}
	return fallback;
}

const redisUrl = await ensureRedis();
const n8n = await N8nInstance.create({ userFolder: join(home, 'n8n'), port: Number(process.env.N8N_PORT ?? 5678) });
n8n.installPack(packThePack(mkdtempSync(join(tmpdir(), 'lead-pipeline-pack-'))));
// Credentials edited in the editor are kept unless the environment names new values.
const credentials = [
	[redisCredential(redisUrl), process.env.REDIS_URL !== undefined],
	[whatsAppCredential(), process.env.WHATSAPP_APP_SECRET !== undefined],
].filter(([credential, fromEnv]) => fromEnv || !n8n.hasCredential(credential.id));
if (credentials.length) n8n.importCredentials(credentials.map(([credential]) => credential));
const workflowDir = join(ROOT, 'workflows');
for (const file of readdirSync(workflowDir).filter((f) => f.endsWith('.json'))) {
	const workflow = JSON.parse(readFileSync(join(workflowDir, file), 'utf8'));
	n8n.importWorkflow(join(workflowDir, file));
	n8n.publishWorkflow(workflow.id);
	say(`imported and published ${file} (${workflow.name})`);
}

process.on('SIGINT', () => void n8n.stop().then(() => process.exit(0)));
process.on('SIGTERM', () => void n8n.stop().then(() => process.exit(0)));
await n8n.start({ timeoutMs: 600_000 });
say(`Redis: ${redisUrl.replace(/\/\/[^@]*@/, '//***@')}`);
say(`n8n user folder: ${n8n.userFolder}`);
say(`Editor: ${n8n.url}  (first visit: create the owner account)`);
say(`Website leads: POST ${n8n.url}/webhook/leads (JSON or form; 202 { traceId })`);
say(`WhatsApp webhook: ${n8n.url}/webhook/whatsapp (app secret / verify token from WHATSAPP_APP_SECRET / WHATSAPP_VERIFY_TOKEN)`);
say('Ctrl+C stops n8n.');
n8n.process.stdout.pipe(process.stdout);
n8n.process.stderr.pipe(process.stderr);
