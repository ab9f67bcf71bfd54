// Does an n8n expression-engine setting change req/s of a bare Webhook → Respond and of the Lead
// Trigger? One n8n per setting, all running at once but loaded one at a time in short alternating
// slices, so each setting is compared with the default measured moments before (the shared box's
// load drifts by 2× within minutes; separate runs cannot tell a setting from the drift). Prints
// figures and ratios; asserts nothing.
//   node bench/expression-engine-settings.mjs [--seconds=8] [--rounds=4] [--concurrency=16]
//     [--settings=N8N_EXPRESSION_ENGINE_POOL_SIZE=4,N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE=true]
import { mkdtempSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

import Redis from 'ioredis';

import { redisCredential } from '../scripts/local-credentials.mjs';
import { N8nInstance, packThePack } from '../scripts/n8n-rig.mjs';
import { load } from './http-load.mjs';

const argText = (name, fallback) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=').slice(1).join('=') ?? fallback;
const SECONDS = Number(argText('seconds', 8));
const ROUNDS = Number(argText('rounds', 4));
const CONCURRENCY = Number(argText('concurrency', 16));
const SETTINGS = ['default', ...argText('settings', 'N8N_EXPRESSION_ENGINE_POOL_SIZE=4,N8N_EXPRESSION_ENGINE_LAZY_ACQUIRE=true').split(',')];
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const DB = Number(process.env.BENCH_REDIS_DB ?? 14);
const STREAM = `bench:intake:${process.pid}`;
const credentials = { leadPipelineRedis: { id: 'LpRedisLocal0001', name: 'Lead Pipeline Redis' } };
const out = (line) => process.stdout.write(`${line}\n`);
const load1 = () => loadavg().map((l) => l.toFixed(2)).join(' ');

const leadTrigger = (id, path, enqueueOnly) => ({
	id,
	name: `bench lead trigger ${path}`,
	nodes: [
		{ id: `${id}-1`, name: 'Leads', type: 'n8n-nodes-lead-pipeline.leadTrigger', typeVersion: 1, position: [0, 0], webhookId: `${id}-w`, parameters: { source: 'website', path, stream: STREAM, enqueueOnly }, credentials },
		{ id: `${id}-2`, name: 'No Operation', type: 'n8n-nodes-base.noOp', typeVersion: 1, position: [200, 0], parameters: {} },
	],
	connections: { Leads: { main: [[{ node: 'No Operation', type: 'main', index: 0 }]] } },
	settings: { executionOrder: 'v1' },
	active: false,
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
	active: false,
};
const workflows = [bare, leadTrigger('LpBenchLeadEnq01', 'bench-leads-enqueue', true), leadTrigger('LpBenchLeadExe01', 'bench-leads-execute', false)];
const PATHS = { bare: 'bench-bare', enqueueOnly: 'bench-leads-enqueue', execution: 'bench-leads-execute' };
const lead = (i) => JSON.stringify({ name: `Bench Lead ${i}`, phone: '+91 98450 98450', email: `lead${i}@example.com`, destination: 'Goa', utm_source: 'bench' });

const redis = new Redis(REDIS_URL, { db: DB });
const tarball = packThePack(mkdtempSync(join(tmpdir(), 'lead-pipeline-pack-')));
const instances = [];
try {
	for (const setting of SETTINGS) {
		const n8n = await N8nInstance.create();
		n8n.installPack(tarball);
		n8n.importCredentials([redisCredential(REDIS_URL, DB)]);
		const file = join(n8n.userFolder, 'bench-workflows.json');
		writeFileSync(file, JSON.stringify(workflows));
		n8n.importWorkflow(file);
		for (const workflow of workflows) n8n.publishWorkflow(workflow.id);
		const env = setting === 'default' ? {} : Object.fromEntries([setting.split('=')]);
		await n8n.start({ env: { EXECUTIONS_DATA_SAVE_ON_SUCCESS: 'none', DB_SQLITE_POOL_SIZE: '4', ...env } });
		for (const path of Object.values(PATHS)) await n8n.waitForWebhook(path);
		instances.push({ setting, n8n });
	}
	out(`${SETTINGS.length} n8n processes, loaded one at a time: ${ROUNDS} rounds × ${SECONDS} s per setting and workflow, concurrency ${CONCURRENCY}; load average ${load1()} (2 cores, shared)`);
	const rates = {};
	for (let round = 0; round < ROUNDS; round++) {
		for (const [what, path] of Object.entries(PATHS)) {
			for (const { setting, n8n } of instances) {
				if (round === 0) await load(`${n8n.url}/webhook/${path}`, { seconds: 2, concurrency: CONCURRENCY, makeBody: lead });
				const r = await load(`${n8n.url}/webhook/${path}`, { seconds: SECONDS, concurrency: CONCURRENCY, makeBody: lead });
				const ok = Object.entries(r.statuses).every(([status]) => status.startsWith('2'));
				if (!ok) out(`  ${setting} ${what}: non-2xx answers ${JSON.stringify(r.statuses)}`);
				((rates[what] ??= {})[setting] ??= []).push(r.rate);
			}
		}
		out(`  round ${round + 1}: ${Object.entries(rates).map(([what, by]) => `${what} ${SETTINGS.map((s) => by[s][round].toFixed(1)).join('/')}`).join('; ')} req/s (${SETTINGS.join(' / ')}); load ${load1()}`);
	}
	const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
	for (const [what, by] of Object.entries(rates)) {
		const cells = SETTINGS.map((s) => {
			const ratios = by[s].map((rate, i) => rate / by.default[i]);
			return `${s}: ${median(by[s]).toFixed(1)} req/s${s === 'default' ? '' : ` (median ratio to default in the same round ${median(ratios).toFixed(2)}, rounds ${ratios.map((x) => x.toFixed(2)).join(' ')})`}`;
		});
		out(`${what}: ${cells.join('; ')}`);
	}
	out(`load average now ${load1()}`);
} finally {
	for (const { n8n } of instances) await n8n.stop();
	await redis.del(STREAM);
	redis.disconnect();
}
