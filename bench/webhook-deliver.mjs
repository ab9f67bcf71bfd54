// Deliveries/s from real n8n to a local receiver: Webhook → Split Out → Webhook Deliver (signed,
// keep-alive pool, concurrency 10 and 50) against n8n's HTTP Request node (v4.2, defaults) doing
// the same POSTs in the same run. Each run: one execution with N items; the clock runs from the
// trigger POST until the receiver has all N requests and n8n has answered. Prints figures and the
// ratio; asserts nothing.
//   node bench/webhook-deliver.mjs [--items=10000] [--warmup=200]
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { N8nInstance, packThePack } from '../scripts/n8n-rig.mjs';

const arg = (name, fallback) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const ITEMS = arg('items', 10_000);
const WARMUP = arg('warmup', 200);
const out = (line) => process.stdout.write(`${line}\n`);

// The receiver: answers 200 to every POST, counts per path.
const counts = new Map();
const receiver = http.createServer((req, res) => {
	req.resume();
	req.on('end', () => {
		counts.set(req.url, (counts.get(req.url) ?? 0) + 1);
		res.writeHead(200, { 'content-type': 'application/json' });
		res.end('{"ok":true}');
	});
});
receiver.keepAliveTimeout = 30_000;
await new Promise((resolve) => receiver.listen(0, '127.0.0.1', resolve));
const target = `http://127.0.0.1:${receiver.address().port}`;

const signing = { id: 'LpWebhookSign001', name: 'Bench Signing', type: 'leadPipelineWebhookSigningApi', data: { secret: `whsec_${randomBytes(32).toString('base64')}` } };

function workflow(id, path, deliverNode) {
	return {
		id,
		name: `bench ${path}`,
		nodes: [
			{ id: `${id}-1`, name: 'Webhook', type: 'n8n-nodes-base.webhook', typeVersion: 2, position: [0, 0], webhookId: `${id}-hook`, parameters: { httpMethod: 'POST', path, responseMode: 'lastNode', options: {} } },
			{ id: `${id}-2`, name: 'Split Out', type: 'n8n-nodes-base.splitOut', typeVersion: 1, position: [200, 0], parameters: { fieldToSplitOut: 'body.items', options: {} } },
			{ id: `${id}-3`, name: 'Deliver', position: [400, 0], ...deliverNode },
		],
		connections: { Webhook: { main: [[{ node: 'Split Out', type: 'main', index: 0 }]] }, 'Split Out': { main: [[{ node: 'Deliver', type: 'main', index: 0 }]] } },
		settings: { executionOrder: 'v1' },
		active: false,
	};
}

const contenders = [
	{
		label: 'Webhook Deliver (signed, concurrency 10)',
		wf: workflow('LpBenchWd0000010', 'bench-wd-10', {
			type: 'n8n-nodes-lead-pipeline.webhookDeliver',
			typeVersion: 1,
			parameters: { url: `${target}/wd10`, eventType: 'lead.created', options: { allowInternal: true, concurrency: 10 } },
			credentials: { leadPipelineWebhookSigningApi: { id: signing.id, name: signing.name } },
		}),
		path: '/wd10',
	},
	{
		label: 'Webhook Deliver (signed, concurrency 50)',
		wf: workflow('LpBenchWd0000050', 'bench-wd-50', {
			type: 'n8n-nodes-lead-pipeline.webhookDeliver',
			typeVersion: 1,
			parameters: { url: `${target}/wd50`, eventType: 'lead.created', options: { allowInternal: true, concurrency: 50 } },
			credentials: { leadPipelineWebhookSigningApi: { id: signing.id, name: signing.name } },
		}),
		path: '/wd50',
	},
	{
		label: "n8n HTTP Request node 4.2 (unsigned, defaults)",
		wf: workflow('LpBenchHttpReq01', 'bench-http', {
			type: 'n8n-nodes-base.httpRequest',
			typeVersion: 4.2,
			parameters: {
				method: 'POST',
				url: `${target}/http`,
				sendHeaders: true,
				headerParameters: { parameters: [{ name: 'X-Webhook-Event', value: 'lead.created' }] },
				sendBody: true,
				specifyBody: 'json',
				jsonBody: '={{ JSON.stringify($json) }}',
				options: {},
			},
		}),
		path: '/http',
	},
];

const items = (n) => Array.from({ length: n }, (_, i) => ({ traceId: `01JD${String(i).padStart(22, '0')}`, name: 'Asha Rao', phone: '+919845098450', email: 'asha@example.com', destination: 'Goa' }));

const n8n = await N8nInstance.create();
n8n.installPack(packThePack(mkdtempSync(join(tmpdir(), 'lead-pipeline-pack-'))));
n8n.importCredentials([signing]);
for (const c of contenders) {
	const file = join(n8n.userFolder, `${c.wf.id}.json`);
	writeFileSync(file, JSON.stringify(c.wf));
	n8n.importWorkflow(file);
	n8n.publishWorkflow(c.wf.id);
}
await n8n.start({ env: { EXECUTIONS_DATA_SAVE_ON_SUCCESS: 'none', N8N_PAYLOAD_SIZE_MAX: '64' } });

async function timeRun(c, n) {
	await n8n.waitForWebhook(c.wf.nodes[0].parameters.path);
	const before = counts.get(c.path) ?? 0;
	const started = process.hrtime.bigint();
	const response = await fetch(`${n8n.url}/webhook/${c.wf.nodes[0].parameters.path}`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify({ items: items(n) }),
	});
	const text = await response.text();
	if (!response.ok) throw new Error(`${c.label}: ${response.status} ${text.slice(0, 500)}`);
	while ((counts.get(c.path) ?? 0) - before < n) await new Promise((r) => setTimeout(r, 5));
	return n / (Number(process.hrtime.bigint() - started) / 1e9);
}

try {
	const rates = [];
	for (const c of contenders) {
		await timeRun(c, WARMUP);
		const rate = await timeRun(c, ITEMS);
		rates.push(rate);
		out(`${c.label}: ${Math.round(rate)} deliveries/s (${ITEMS} items, one execution)`);
	}
	const baseline = rates[rates.length - 1];
	for (const [i, c] of contenders.slice(0, -1).entries()) out(`${c.label} / HTTP Request node = ${(rates[i] / baseline).toFixed(2)}×`);
} finally {
	await n8n.stop();
	receiver.closeAllConnections();
	receiver.close();
}
