// Real n8n 2.41.1 + this pack installed from its npm tarball + real Redis.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import Redis from 'ioredis';

import { N8nInstance, PACKAGE, packThePack, ROOT } from './n8n-rig.mjs';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
// A database of its own keeps the template's fixed stream name away from anything else on the server.
const E2E_DB = Number(process.env.E2E_REDIS_DB ?? 13);
const templates = ['lead-capture-webhook.json', 'filter-queue-consumer.json'].map((file) => join(ROOT, 'workflows', file));
const STREAMS = ['filterQueue', 'syncQueue', 'DLQFilterQueueNewOpportunityProcessor'];

let n8n;
let redis;

before(async () => {
	const url = new URL(REDIS_URL);
	redis = new Redis(REDIS_URL, { db: E2E_DB });
	await redis.del(...STREAMS);
	n8n = await N8nInstance.create();
	n8n.installPack(packThePack(mkdtempSync(join(tmpdir(), 'lead-pipeline-pack-'))));
	n8n.importCredentials([
		{
			id: 'LpRedisLocal0001',
			name: 'Lead Pipeline Redis',
			type: 'leadPipelineRedis',
			data: {
				connectionType: 'hostPort',
				host: url.hostname,
				port: Number(url.port || 6379),
				password: decodeURIComponent(url.password),
				database: E2E_DB,
			},
		},
	]);
	for (const file of templates) {
		n8n.importWorkflow(file);
		n8n.publishWorkflow(JSON.parse(readFileSync(file, 'utf8')).id);
	}
});

after(async () => {
	await n8n?.stop();
	await redis?.del(...STREAMS);
	redis?.disconnect();
});

test('n8n loads every node type the package lists', () => {
	const loaded = n8n.loadedNodeTypes();
	const expected = PACKAGE.n8n.nodes.map((path) => {
		const source = readFileSync(join(ROOT, path.replace(/^dist\//, '').replace(/\.js$/, '.ts')), 'utf8');
		return `${PACKAGE.name}.${/\bname: '([^']+)'/.exec(source)[1]}`;
	});
	for (const type of expected) assert.ok(loaded.includes(type), `n8n did not load ${type}`);
});

test('webhook → filterQueue → Redis Stream Consumer → syncQueue, acknowledged', async () => {
	await n8n.start();
	await n8n.waitForWebhook('lead-capture');
	assert.doesNotMatch(n8n.logs, /Unrecognized node type/);
	const lead = { name: 'Asha Rao', phone: '+91 98450 98450', email: 'asha@example.com', destination: 'Goa' };
	const response = await fetch(`${n8n.url}/webhook/lead-capture`, {
		method: 'POST',
		headers: { 'content-type': 'application/json' },
		body: JSON.stringify(lead),
	});
	const body = await response.text();
	assert.equal(response.status, 200, body);
	const answer = JSON.parse(body);

	const entries = await redis.xrange('filterQueue', '-', '+');
	assert.equal(entries.length, 1);
	const [id, fields] = entries[0];
	assert.equal(answer.id, id);
	assert.deepEqual(fields.slice(0, 1), ['message']);
	const message = JSON.parse(fields[1]);
	assert.equal(message.source, 'WEBSITE');
	assert.deepEqual(message.leadData, lead);

	// The consumer workflow (published, running inside n8n) moves it on and acknowledges it.
	const deadline = Date.now() + 30_000;
	while ((await redis.xlen('syncQueue')) < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
	const synced = await redis.xrange('syncQueue', '-', '+');
	assert.equal(synced.length, 1, n8n.logs.slice(-3000));
	assert.deepEqual(JSON.parse(synced[0][1][1]), message);
	while (Number((await redis.xpending('filterQueue', 'newOpportunityProcessor'))[0]) > 0 && Date.now() < deadline) {
		await new Promise((r) => setTimeout(r, 100));
	}
	assert.equal(Number((await redis.xpending('filterQueue', 'newOpportunityProcessor'))[0]), 0);
	assert.doesNotMatch(n8n.logs, /Unrecognized node type/);
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
