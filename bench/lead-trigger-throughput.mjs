// Requests/s to the Lead Trigger (website form, durable accept) in real n8n against a bare
// Webhook → Respond to Webhook workflow measured in the same run. Prints figures; asserts nothing.
//   node bench/lead-trigger-throughput.mjs [--seconds=20] [--concurrency=16]
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Redis from 'ioredis';

import { redisCredential } from '../scripts/local-credentials.mjs';
import { N8nInstance, packThePack } from '../scripts/n8n-rig.mjs';
import { load } from './http-load.mjs';

const arg = (name, fallback) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const SECONDS = arg('seconds', 20);
const CONCURRENCY = arg('concurrency', 16);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const DB = Number(process.env.BENCH_REDIS_DB ?? 14);
const credentials = { leadPipelineRedis: { id: 'LpRedisLocal0001', name: 'Lead Pipeline Redis' } };

const leadTrigger = (id, path, enqueueOnly) => ({
	id,
	name: `bench lead trigger ${path}`,
	nodes: [
		{ id: `${id}-1`, name: 'Leads', type: 'n8n-nodes-lead-pipeline.leadTrigger', typeVersion: 1, position: [0, 0], webhookId: `${id}-w`, parameters: { source: 'website', path, stream: 'bench:intake', enqueueOnly }, credentials },
		{ id: `${id}-2`, name: 'No Operation', type: 'n8n-nodes-base.noOp', typeVersion: 1, position: [200, 0], parameters: {} },
	],
	connections: { Leads: { main: [[{ node: 'No Operation', type: 'main', index: 0 }]] } },
	settings: { executionOrder: 'v1' },
});
const bare = {
	id: 'LpBenchBareHook1',
	name: 'bench bare webhook',
	nodes: [
		{ id: 'bare-1', name: 'Webhook', type: 'n8n-nodes-base.webhook', typeVersion: 2.1, position: [0, 0], webhookId: 'bare-w', parameters: { httpMethod: 'POST', path: 'bench-bare', responseMode: 'responseNode', options: {} } },
		{ id: 'bare-2', name: 'Respond', type: 'n8n-nodes-base.respondToWebhook', typeVersion: 1.1, position: [200, 0], parameters: { respondWith: 'json', responseBody: '={{ { "ok": true } }}', options: { responseCode: 202 } } },
	],
	connections: { Webhook: { main: [[{ node: 'Respond', type: 'main', index: 0 }]] } },
	settings: { executionOrder: 'v1' },
};
const workflows = [bare, leadTrigger('LpBenchLeadEnq01', 'bench-leads-enqueue', true), leadTrigger('LpBenchLeadExe01', 'bench-leads-execute', false)];

const redis = new Redis(REDIS_URL, { db: DB });
await redis.del('bench:intake');
const n8n = await N8nInstance.create();
n8n.installPack(packThePack(mkdtempSync(join(tmpdir(), 'lead-pipeline-pack-'))));
n8n.importCredentials([redisCredential(REDIS_URL, DB)]);
for (const workflow of workflows) {
	const file = join(n8n.userFolder, `${workflow.id}.json`);
	writeFileSync(file, JSON.stringify({ ...workflow, active: false }));
	n8n.importWorkflow(file);
	n8n.publishWorkflow(workflow.id);
}
await n8n.start({ env: { EXECUTIONS_DATA_SAVE_ON_SUCCESS: 'none', DB_SQLITE_POOL_SIZE: '4', ...(process.env.BENCH_CPU_PROF_DIR ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${process.env.BENCH_CPU_PROF_DIR}` } : {}) } });
for (const path of ['bench-leads-enqueue', 'bench-leads-execute']) await n8n.waitForWebhook(path);

const lead = (i) => JSON.stringify({ name: `Bench Lead ${i}`, phone: '+91 98450 98450', email: `lead${i}@example.com`, destination: 'Goa', utm_source: 'bench' });
const out = (line) => process.stdout.write(`${line}\n`);
try {
	await load(`${n8n.url}/webhook/bench-bare`, { seconds: 3, concurrency: CONCURRENCY, makeBody: lead });
	const baseline = await load(`${n8n.url}/webhook/bench-bare`, { seconds: SECONDS, concurrency: CONCURRENCY, makeBody: lead });
	out(`bare Webhook → Respond to Webhook: ${baseline.rate.toFixed(1)} req/s ${JSON.stringify(baseline.statuses)}`);
	for (const path of ['bench-leads-enqueue', 'bench-leads-execute']) {
		const before = await redis.xlen('bench:intake');
		const result = await load(`${n8n.url}/webhook/${path}`, { seconds: SECONDS, concurrency: CONCURRENCY, makeBody: lead });
		const stored = (await redis.xlen('bench:intake')) - before;
		out(`Lead Trigger (website, durable accept${path.endsWith('enqueue') ? ', enqueue only' : ', one execution per lead'}): ${result.rate.toFixed(1)} req/s ${JSON.stringify(result.statuses)} = ${((100 * result.rate) / baseline.rate).toFixed(0)}% of bare; ${stored} leads stored`);
	}
} finally {
	await n8n.stop();
	await redis.del('bench:intake');
	redis.disconnect();
}
