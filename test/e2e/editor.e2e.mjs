// Editor check: a person opening each template in the n8n editor sees every node drawn as the
// pack's node, not as n8n's "?" / "install this node" placeholder. Real n8n 2.41.1 with the pack
// installed from its tarball, headless Debian Chromium signed in through the /signin form; one
// screenshot per workflow is kept in test-artifacts/editor/ (gitignored) for a person to look at.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import { ensureChromium, launchChromium, nodesWithIssues, openWorkflowCanvas, signIn, unrenderedNodes } from './support/editor-browser.mjs';
import { redisCredential, whatsAppCredential } from '../../scripts/local-credentials.mjs';
import { N8nInstance, packThePack, ROOT } from '../../scripts/n8n-rig.mjs';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const ARTIFACTS = join(ROOT, 'test-artifacts/editor');
const templates = readdirSync(join(ROOT, 'workflows'))
	.filter((f) => f.endsWith('.json'))
	.map((file) => ({ file, workflow: JSON.parse(readFileSync(join(ROOT, 'workflows', file), 'utf8')) }));

// A workflow holding a node type n8n cannot know: proves the check below can fail.
const probe = {
	id: 'LpUnknownNodeProbe',
	name: 'Editor check probe: a node type n8n does not have',
	nodes: [
		{ id: 'b7d1c2e0-0000-4000-8000-000000000001', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
		{ id: 'b7d1c2e0-0000-4000-8000-000000000002', name: 'Ghost node', type: 'n8n-nodes-lead-pipeline.doesNotExist', typeVersion: 1, position: [240, 0], parameters: {} },
	],
	connections: { Start: { main: [[{ node: 'Ghost node', type: 'main', index: 0 }]] } },
	settings: { executionOrder: 'v1' },
	active: false,
};

let n8n;
let browser;
let page;

before(async () => {
	ensureChromium();
	mkdirSync(ARTIFACTS, { recursive: true });
	n8n = await N8nInstance.create();
	n8n.installPack(packThePack(mkdtempSync(join(tmpdir(), 'lead-pipeline-pack-'))));
	// Imported, not published: opening a template in the editor must not need its triggers running.
	n8n.importCredentials([redisCredential(REDIS_URL, Number(process.env.E2E_REDIS_DB ?? 13)), whatsAppCredential()]);
	for (const { file } of templates) n8n.importWorkflow(join(ROOT, 'workflows', file));
	const probeFile = join(n8n.userFolder, 'unknown-node-probe.json');
	writeFileSync(probeFile, JSON.stringify(probe));
	n8n.importWorkflow(probeFile);
	await n8n.start();
	await n8n.setupOwner();
	browser = await launchChromium();
	page = await browser.newPage({ viewport: { width: 1600, height: 900 } });
	await signIn(page, n8n.url, n8n.owner);
});

after(async () => {
	await browser?.close();
	await n8n?.stop();
});

test('the check catches a node n8n does not know ("?" icon, "install this node")', async () => {
	await openWorkflowCanvas(page, n8n.url, probe);
	await page.screenshot({ path: join(ARTIFACTS, 'unknown-node-probe.png') });
	assert.deepEqual(await unrenderedNodes(page), [
		{ name: 'Ghost node', type: 'n8n-nodes-lead-pipeline.doesNotExist', reasons: ['node-not-installed', 'question-mark icon'] },
	]);
});

test('every template in workflows/ opens in the editor with every node rendered as a known node', async () => {
	assert.ok(templates.length > 0, 'no workflows/*.json');
	const problems = {};
	for (const { file, workflow } of templates) {
		await openWorkflowCanvas(page, n8n.url, workflow);
		await page.screenshot({ path: join(ARTIFACTS, `${file.replace(/\.json$/, '')}.png`) });
		const unrendered = await unrenderedNodes(page);
		if (unrendered.length) problems[file] = unrendered;
		const issues = await nodesWithIssues(page);
		if (issues.length) process.stderr.write(`[editor] ${file}: n8n shows an issue marker on ${issues.join(', ')}\n`);
	}
	process.stderr.write(`[editor] screenshots: ${ARTIFACTS}\n`);
	assert.deepEqual(problems, {}, 'nodes drawn as unknown in the editor');
});
