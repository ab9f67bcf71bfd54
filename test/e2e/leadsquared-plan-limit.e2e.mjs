// LeadSquared's plan limit on real n8n, tried as a user would: the shipped crm-sync template with
// only the CRM switched (provider LeadSquared + its credential, nothing else), against the stand-in
// enforcing LeadSquared's documented behaviour — a plan limit of 5 calls in any 5 seconds answered
// 429 without Retry-After. Being throttled is never a reason to dead-letter: every lead arrives once.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import Redis from 'ioredis';

import { leadSquaredCredential, sandboxSecrets } from '../../scripts/local-credentials.mjs';
import { N8nInstance, packThePack } from '../../scripts/n8n-rig.mjs';
import { installPipeline } from '../../scripts/pipeline-setup.mjs';
import { DEAD_LETTER_STREAMS, pipelineStats } from '../../scripts/pipeline-stats.mjs';
import { postLeads, sampleLeads } from '../../scripts/sample-leads.mjs';
import { startSandboxes } from '../../scripts/sandboxes.mjs';
import { OwnRedis } from './support/own-redis.mjs';
import { timer, until } from './support/wait.mjs';

const lap = timer('leadsquared');
const PLAN_LIMIT = 5;
const LEADS = 20;
let ownRedis;
let redis;
let sandbox;
let n8n;
let secrets;

/** The user's one change: CRM Sync talks to LeadSquared with the LeadSquared credential. */
function switchedToLeadSquared(workflow) {
	for (const node of workflow.nodes) {
		if (node.type !== 'n8n-nodes-lead-pipeline.crmSync' || node.parameters.operation === 'releaseDueRetries') continue;
		node.parameters.provider = 'leadsquared';
		const { leadPipelineCrmApi: _inhouse, ...kept } = node.credentials;
		const credential = leadSquaredCredential(sandbox);
		node.credentials = { ...kept, leadPipelineLeadSquaredApi: { id: credential.id, name: credential.name } };
	}
	return workflow;
}

before(async () => {
	ownRedis = await OwnRedis.start();
	redis = new Redis(ownRedis.url, { maxRetriesPerRequest: null });
	redis.on('error', () => undefined);
	sandbox = await startSandboxes(sandboxSecrets(), { leadSquaredPlanLimit: PLAN_LIMIT });
	n8n = await N8nInstance.create();
	n8n.installPack(packThePack(mkdtempSync(join(tmpdir(), 'lead-pipeline-pack-'))));
	const { credentials } = installPipeline(n8n, { redisUrl: ownRedis.url, sandbox, env: {}, fresh: true, transform: switchedToLeadSquared });
	secrets = { formSecret: credentials.formSecret.data.secret, appSecret: credentials.whatsApp.data.appSecret };
	await n8n.start();
	await n8n.waitForWebhook('leads');
	lap('n8n started');
});

after(async () => {
	await n8n?.stop();
	await sandbox?.stop();
	redis?.disconnect();
	await ownRedis?.stop();
});

test(`LeadSquared plan limit ${PLAN_LIMIT} calls / 5 s with the template's CRM Sync settings: every lead arrives once, none dead-lettered`, { timeout: 600_000 }, async () => {
	const leads = sampleLeads(LEADS, { seed: 7, runId: randomUUID().slice(0, 8), duplicateRate: 0, invalidRate: 0 })
		.map((l) => ({ ...l, channel: 'WEBSITE', email: `${l.id}@example.com`, destination: 'Maldives' }));
	const results = await postLeads(n8n.url, leads, secrets, { concurrency: 4 });
	assert.deepEqual(results.map((r) => r.status), leads.map(() => 202));
	const traceIds = results.map((r) => r.traceId);

	const opportunities = await until(
		async () => {
			const list = await sandbox.read('/leadsquared/opportunities');
			return list.length >= LEADS ? list : undefined;
		},
		`${LEADS} LeadSquared opportunities`,
		{ timeoutMs: 420_000, intervalMs: 2000, logs: () => n8n.logs },
	);
	lap('every lead in LeadSquared');
	const stats = await pipelineStats(redis, {});
	const traced = opportunities.map((o) => o.fields.mx_Custom_1);
	assert.deepEqual([...traced].sort(), [...traceIds].sort(), 'one LeadSquared opportunity per lead, by trace id');
	assert.equal(new Set(traced).size, traced.length, 'no opportunity created twice');
	for (const stream of DEAD_LETTER_STREAMS) assert.equal(stats.deadLetters[stream], 0, `dead letters in ${stream}`);
	assert.equal(stats.crmSynced, LEADS, 'every lead marked CRM-synced in the lead store');
	const seen = (await sandbox.summary()).leadSquared;
	process.stderr.write(`[leadsquared] ${LEADS} leads: ${JSON.stringify(seen)}\n`);
	assert.ok(seen.throttled > 0, 'the plan limit was hit (429s answered), so the run proves something');
});
