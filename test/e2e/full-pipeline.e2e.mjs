// The whole pipeline on real n8n 2.41.1 with every template in workflows/ (set up as `npm start`
// sets it up), the loopback stand-ins behind the credentials and a Redis of the test's own:
//   1. 1,000 leads over the intake URLs (website, WhatsApp, Instagram, bots; 15 % duplicates, 2 %
//      invalid) → exact counts at every stage, every traceId traced to the CRM and the webhooks;
//   2. SIGKILL n8n with thousands of entries in filterQueue and syncQueue busy, restart → nothing
//      lost, no CRM record or WhatsApp message twice;
//   3. Redis killed and restarted while leads arrive → 503 while down, nothing accepted lost.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import Redis from 'ioredis';

import { sandboxSecrets } from '../../scripts/local-credentials.mjs';
import { N8nInstance, packThePack } from '../../scripts/n8n-rig.mjs';
import { installPipeline } from '../../scripts/pipeline-setup.mjs';
import { DEAD_LETTER_STREAMS, pipelineStats, statsTable } from '../../scripts/pipeline-stats.mjs';
import { expectedProcess, postLeads, sampleLeads } from '../../scripts/sample-leads.mjs';
import { startSandboxes } from '../../scripts/sandboxes.mjs';
import { OwnRedis } from './support/own-redis.mjs';
import { settled, timer, until } from './support/wait.mjs';

const lap = timer();
let ownRedis;
let redis;
let sandbox;
let n8n;
let secrets;
let agentKey;
const POISONED = 3;

/** Outreach without business hours here, so "sent" does not depend on the time of day the test runs. */
function forTest(workflow) {
	for (const node of workflow.nodes) {
		if (node.type === 'n8n-nodes-lead-pipeline.whatsAppSend' && node.parameters.operation === 'send' && node.parameters.useBusinessRules) node.parameters.useBusinessRules = false;
		// The stand-in CRM takes 2,000 calls/s; the template's 100/s is a real CRM's budget.
		if (node.type === 'n8n-nodes-lead-pipeline.crmSync') node.parameters.options = { ...node.parameters.options, rateLimit: 1000 };
	}
	return workflow;
}

const queueEntries = async (stream) => (await redis.xrange(stream, '-', '+')).map(([id, fields]) => ({ id, ...JSON.parse(fields[fields.indexOf('message') + 1]) }));

async function atRest(what, done = () => true, timeoutMs = 240_000) {
	return await settled(
		async () => {
			const stats = await pipelineStats(redis, { receiver: await sandbox.summary() });
			return stats;
		},
		what,
		{ timeoutMs, done: (s) => Object.values(s.queues).every((q) => q.pending === 0) && done(s) },
	);
}

/** Groups of one person: the leads (original + duplicates) sharing a phone, with their traceIds from filterQueue. */
function groupsOf(leads, entries) {
	const traceIdsByPhone = new Map();
	for (const e of entries) {
		const phone = e.leadData?.phone;
		if (phone) traceIdsByPhone.set(phone, [...(traceIdsByPhone.get(phone) ?? []), e.traceId]);
	}
	const groups = new Map();
	for (const lead of leads.filter((l) => !l.invalid)) {
		const group = groups.get(lead.phone) ?? { lead, size: 0, process: expectedProcess(lead), traceIds: traceIdsByPhone.get(lead.phone) ?? [] };
		group.size++;
		groups.set(lead.phone, group);
	}
	return [...groups.values()];
}

const countBy = (list, key) => list.reduce((m, x) => m.set(key(x), (m.get(key(x)) ?? 0) + 1), new Map());

before(async () => {
	ownRedis = await OwnRedis.start();
	redis = new Redis(ownRedis.url, { maxRetriesPerRequest: null });
	redis.on('error', () => undefined);
	sandbox = await startSandboxes(sandboxSecrets());
	n8n = await N8nInstance.create();
	n8n.installPack(packThePack(mkdtempSync(join(tmpdir(), 'lead-pipeline-pack-'))));
	const { credentials } = installPipeline(n8n, { redisUrl: ownRedis.url, sandbox, env: {}, fresh: true, transform: forTest });
	secrets = { formSecret: credentials.formSecret.data.secret, appSecret: credentials.whatsApp.data.appSecret };
	agentKey = credentials.agentKey.data;
	lap('setup (pack, credentials, templates)');
	await n8n.start();
	for (const path of ['leads', 'bots', 'meta']) await n8n.waitForWebhook(path);
	await n8n.waitForWebhook('lead-pipeline/qualify');
	lap('n8n started');
});

after(async () => {
	await n8n?.stop();
	await sandbox?.stop();
	redis?.disconnect();
	await ownRedis?.stop();
});

test('1,000 leads over every intake URL: exact counts at every stage, every traceId traced to the CRM and the webhooks', { timeout: 400_000 }, async () => {
	const leads = sampleLeads(1000, { seed: 16, runId: randomUUID().slice(0, 8) });
	const results = await postLeads(n8n.url, leads, secrets, { concurrency: 16, retry503: false });
	lap('posted 1,000 leads');
	leads.forEach((lead, i) => {
		const expected = lead.invalid ? 400 : lead.channel === 'WHATSAPP' || lead.channel === 'INSTAGRAM_BOT' ? 200 : 202;
		assert.equal(results[i].status, expected, `${lead.channel} lead ${lead.id}: ${results[i].text}`);
	});
	// Deliberately poisoned entries: one without a traceId, one without anything to dedupe on, one not an object.
	await redis.xadd('filterQueue', '*', 'message', JSON.stringify({ source: 'WEBSITE', leadData: { name: 'No Trace', phone: '+919000000001' } }));
	await redis.xadd('filterQueue', '*', 'message', JSON.stringify({ traceId: 'poison-no-key', source: 'WEBSITE', leadData: { traceId: 'poison-no-key', source: { channel: 'WEBSITE' } } }));
	await redis.xadd('filterQueue', '*', 'message', JSON.stringify({ traceId: 'poison-no-key-2', leadData: 'not an object' }));

	const valid = leads.filter((l) => !l.invalid);
	const stats = await atRest('the pipeline to drain', (s) => s.opportunities >= 1);
	lap('pipeline drained');
	process.stderr.write(`${statsTable(stats, { rejectedAtIntake: leads.length - valid.length })}\n`);
	const entries = await queueEntries('filterQueue');
	const groups = groupsOf(leads, entries);
	const byProcess = (p) => groups.filter((g) => g.process === p);

	assert.equal(stats.received, valid.length + POISONED, 'every accepted lead (and the poison) is in filterQueue');
	assert.equal(stats.duplicates, valid.length - groups.length, 'duplicates');
	assert.equal(stats.opportunities, groups.length, 'one opportunity per person');
	for (const p of ['NO_FILTER', 'PSV', 'WEST', 'UNKNOWN', 'UPCOMING']) assert.equal(stats.perProcess[p], byProcess(p).length, `routed ${p}`);
	assert.equal(stats.manualReview, byProcess('UNKNOWN').length + byProcess('UPCOMING').length, 'manual review');
	assert.equal(stats.syncQueued.created, byProcess('NO_FILTER').length);
	assert.equal(stats.crmSynced, byProcess('NO_FILTER').length, 'CRM-synced in the lead store');

	// Traced into the CRM: one opportunity per NO_FILTER person, under one of that person's traceIds.
	const crm = await sandbox.read('/crm/opportunities');
	assert.equal(crm.length, byProcess('NO_FILTER').length, 'CRM opportunities');
	const crmByTrace = new Map(crm.map((o) => [o.traceId, o]));
	for (const g of byProcess('NO_FILTER')) assert.equal(g.traceIds.filter((t) => crmByTrace.has(t)).length, 1, `CRM opportunity for ${g.lead.phone}`);
	assert.equal((await sandbox.read('/crm/followups')).length, crm.length, 'a follow-up per opportunity');

	// Traced to the webhook receiver: signed, one webhook-id per lead, the traceId in the body.
	const webhooks = await sandbox.read('/webhooks');
	assert.ok(webhooks.every((w) => w.verified), 'every webhook verifies');
	const events = webhooks.filter((w) => w.path === '/events');
	assert.deepEqual([...new Set(events.map((w) => w.body.traceId))].sort(), [...crmByTrace.keys()].sort(), 'lead.synced for every CRM opportunity');
	assert.equal(new Set(events.map((w) => w.webhookId)).size, crm.length);
	const assigned = webhooks.filter((w) => w.path === '/assignment');
	assert.equal(new Set(assigned.map((w) => w.webhookId)).size, byProcess('WEST').length, 'WEST assignment webhooks');
	for (const g of byProcess('WEST')) assert.equal(assigned.filter((w) => g.traceIds.includes(w.body.traceId)).length >= 1, true, `assignment for ${g.lead.phone}`);

	// WhatsApp: the qualification template per PSV person, a welcome per NO_FILTER person.
	const sent = (await sandbox.read('/whatsapp')).filter((r) => r.answer === 'ok');
	assert.equal(sent.filter((r) => r.template === 'lead_qualification').length, byProcess('PSV').length, 'PSV qualification templates');
	assert.equal(sent.filter((r) => r.type === 'text').length, byProcess('NO_FILTER').length, 'welcome messages');
	assert.equal(stats.whatsApp.sent, byProcess('PSV').length + byProcess('NO_FILTER').length, 'message log');

	for (const [stream, q] of Object.entries(stats.queues)) assert.equal(q.pending, 0, `XPENDING ${stream}`);
	for (const stream of DEAD_LETTER_STREAMS) assert.equal(stats.deadLetters[stream], stream === 'DLQFilterQueueItems' ? POISONED : 0, `dead letters in ${stream}`);

	// Qualification webhook: five PSV leads promoted → CRM, once however often an agent calls.
	const opportunityIds = [];
	for (const g of byProcess('PSV').slice(0, 5)) {
		for (const t of g.traceIds) if (await redis.exists(`leads:opportunity:opp_${t}`)) opportunityIds.push(`opp_${t}`);
	}
	assert.equal(opportunityIds.length, 5);
	for (let round = 0; round < 2; round++) {
		for (const opportunityId of opportunityIds) {
			const response = await fetch(`${n8n.url}/webhook/lead-pipeline/qualify`, { method: 'POST', headers: { 'content-type': 'application/json', [agentKey.name]: agentKey.value }, body: JSON.stringify({ opportunityId, agent: 'e2e' }) });
			const body = await response.text();
			assert.equal(response.status, 200, body);
			assert.equal(JSON.parse(body).syncQueued, round === 0 ? 'now' : 'already', body);
		}
	}
	const unauthorized = await fetch(`${n8n.url}/webhook/lead-pipeline/qualify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ opportunityId: opportunityIds[0] }) });
	assert.equal(unauthorized.status, 403);
	const promoted = await atRest('the promoted leads to reach the CRM', (s) => s.crmSynced === byProcess('NO_FILTER').length + 5);
	assert.equal(promoted.syncQueued.promoted, 5);
	assert.equal((await sandbox.read('/crm/opportunities')).length, byProcess('NO_FILTER').length + 5);
	lap('qualification');
});

test('SIGKILL n8n with thousands of leads in filterQueue and syncQueue busy; after a restart nothing is lost and nothing is sent twice', { timeout: 900_000 }, async () => {
	const before = await pipelineStats(redis, {});
	const crmBefore = (await sandbox.read('/crm/opportunities')).length;
	// Entries exactly as the Lead Trigger writes them (copied from one it wrote), 40 % straight to the CRM.
	const template = (await queueEntries('filterQueue')).find((e) => e.source === 'WEBSITE' && e.leadData?.email);
	const count = 10_000;
	const destinations = ['Maldives', 'Singapore', 'Goa', 'Dubai', 'Peru'];
	const runId = Date.now().toString(36);
	const pipeline = redis.pipeline();
	const expected = { NO_FILTER: 0, PSV: 0, WEST: 0, UNKNOWN: 0 };
	for (let i = 0; i < count; i++) {
		const traceId = `crash-${runId}-${i}`;
		const destination = destinations[i % destinations.length];
		expected[expectedProcess({ channel: 'WEBSITE', destination })]++;
		const leadData = { ...template.leadData, traceId, name: `Crash Lead ${i}`, phone: `+9197${String(i).padStart(8, '0')}`, waId: `9197${String(i).padStart(8, '0')}`, email: `crash.${runId}.${i}@example.com`, destination, raw: undefined };
		pipeline.xadd('filterQueue', '*', 'message', JSON.stringify({ source: 'WEBSITE', leadData, traceId }));
	}
	await pipeline.exec();
	lap(`queued ${count} leads`);
	await until(async () => (await sandbox.read('/crm/opportunities')).length >= crmBefore + 100, 'the CRM sync to be busy', { timeoutMs: 120_000, logs: () => n8n.logs });
	const group = (await redis.xinfo('GROUPS', 'filterQueue'))[0];
	const lag = group[group.indexOf('lag') + 1];
	const killedAt = await pipelineStats(redis, {});
	process.stderr.write(`[full-pipeline] SIGKILL n8n: filterQueue pending ${killedAt.queues.filterQueue.pending}, lag ${lag}; syncQueue pending ${killedAt.queues.syncQueue.pending}; opportunities ${killedAt.opportunities - before.opportunities}/${count}\n`);
	assert.ok(killedAt.opportunities - before.opportunities < count, 'the kill came before the filter queue was done');
	const exited = new Promise((r) => n8n.process.once('exit', r));
	n8n.process.kill('SIGKILL');
	await exited;
	lap('n8n killed');
	n8n.logs = ''; // start() waits for a fresh "Editor is now accessible"
	await n8n.start();
	lap('n8n restarted');
	const stats = await atRest('the restarted pipeline to finish', (s) => s.opportunities === before.opportunities + count && s.crmSynced === before.crmSynced + expected.NO_FILTER, 600_000);
	lap('drained after the restart');
	assert.equal(stats.opportunities - before.opportunities, count, 'every lead became an opportunity (0 lost)');
	for (const p of Object.keys(expected)) assert.equal(stats.perProcess[p] - before.perProcess[p], expected[p], `routed ${p}`);
	const crm = await sandbox.read('/crm/opportunities');
	assert.equal(crm.length - crmBefore, expected.NO_FILTER, 'CRM opportunities');
	const twice = [...countBy(crm, (o) => o.traceId)].filter(([, n]) => n > 1);
	assert.deepEqual(twice, [], 'duplicate CRM creates');
	const sends = (await sandbox.read('/whatsapp')).filter((r) => r.answer === 'ok');
	const repeated = [...countBy(sends, (r) => `${r.to}|${r.type}|${r.template ?? ''}`)].filter(([, n]) => n > 1);
	assert.deepEqual(repeated, [], 'duplicate WhatsApp sends');
	for (const [stream, q] of Object.entries(stats.queues)) assert.equal(q.pending, 0, `XPENDING ${stream}`);
	// A WhatsApp send the kill interrupted (claimed, request maybe at Meta, never settled) is not sent
	// again: it is dead-lettered with that reason for a person to check. The lead may also come back
	// on a second outreach entry (the Filter Router's batch re-ran after the kill, at-least-once);
	// that delivery finds the UNKNOWN record and is dead-lettered as its duplicate, again for the
	// person and again without a send. Each such message reached the stand-in at most once, and
	// only those are dead letters beyond the poisoned ones.
	const waitsForPerson = (e) => {
		const w = e.item?.whatsApp;
		return w?.needsPerson === true && (w.interrupted === true || w.outcome === 'unknown');
	};
	const interrupted = new Map();
	for (const stream of DEAD_LETTER_STREAMS) {
		const entries = await queueEntries(stream);
		interrupted.set(stream, entries.filter(waitsForPerson));
		assert.equal(stats.deadLetters[stream] - interrupted.get(stream).length, stream === 'DLQFilterQueueItems' ? POISONED : 0, `dead letters in ${stream}: ${JSON.stringify(entries.slice(0, 2))}`);
	}
	const flagged = [...interrupted.values()].flat();
	for (const e of flagged) {
		const to = e.item?.whatsApp?.to;
		assert.ok(to, `interrupted send names its recipient: ${JSON.stringify(e)}`);
		assert.ok(sends.filter((r) => r.to === to).length <= 1, `interrupted send to ${to} reached WhatsApp at most once`);
	}
	const flaggedLeads = new Set(flagged.map((e) => e.traceId));
	process.stderr.write(`[full-pipeline] WhatsApp sends interrupted by the kill (kept as dead letters, not resent): ${flagged.length} letters for ${flaggedLeads.size} leads\n`);
	const webhooks = await sandbox.read('/webhooks');
	process.stderr.write(`[full-pipeline] after the crash: webhook requests ${webhooks.length}, distinct webhook-ids ${new Set(webhooks.map((w) => w.webhookId)).size} (a redelivered batch may resend; the receiver dedupes on webhook-id)\n`);
});

test('Redis killed and restarted while leads arrive: 503 while it is down, consumers recover, nothing accepted is lost', { timeout: 300_000 }, async () => {
	const before = await pipelineStats(redis, {});
	const leads = sampleLeads(300, { seed: 99, runId: randomUUID().slice(0, 8), duplicateRate: 0, invalidRate: 0 }).map((l) => ({ ...l, channel: 'WEBSITE', email: `${l.id}@example.com`, destination: 'Goa' }));
	await ownRedis.kill();
	lap('Redis killed');
	const down = await fetch(`${n8n.url}/webhook/leads`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'While Down', phone: '+919811111111' }), signal: AbortSignal.timeout(30_000) });
	assert.equal(down.status, 503, await down.clone().text());
	assert.match((await down.json()).error, /unavailable/);
	const posting = postLeads(n8n.url, leads, secrets, { concurrency: 8, retry503: true, retryDelayMs: 250 });
	await new Promise((r) => setTimeout(r, 3000));
	await ownRedis.spawn();
	lap('Redis restarted (same append-only file)');
	const results = await posting;
	assert.ok(results.every((r) => r.status === 202), `answers: ${JSON.stringify([...countBy(results, (r) => r.status)])}`);
	const saw503 = results.filter((r) => r.answered503 > 0).length;
	process.stderr.write(`[full-pipeline] ${saw503} of ${leads.length} posts were answered 503 first and retried\n`);
	assert.ok(saw503 > 0, 'some posts met Redis down');
	const accepted = new Set(results.map((r) => r.traceId));
	const stats = await atRest('the consumers to recover and drain', (s) => s.opportunities >= before.opportunities + leads.length);
	lap('drained after the Redis restart');
	const queued = new Set((await queueEntries('filterQueue')).map((e) => e.traceId));
	assert.deepEqual([...accepted].filter((t) => !queued.has(t)), [], 'accepted leads missing from filterQueue');
	assert.equal(stats.opportunities - before.opportunities, leads.length, 'every accepted lead processed');
	assert.equal(stats.perProcess.WEST - before.perProcess.WEST, leads.length);
	for (const [stream, q] of Object.entries(stats.queues)) assert.equal(q.pending, 0, `XPENDING ${stream}`);
});
