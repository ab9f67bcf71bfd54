// Scale-out on real n8n 2.41.1: two `n8n start` processes (each its own user folder and SQLite) on
// one Redis of the test's own, both running the whole pipeline as `npm start` sets it up, so the
// filter-queue workflow is active twice and its trigger joins group newOpportunityProcessor on
// filterQueue under two consumer names (host-pid-<random>). Leads go straight into filterQueue as the Lead
// Trigger writes them. Proves: both processes take and acknowledge batches (the work is split);
// nothing is delivered twice while both run; a process SIGKILLed while it holds pending entries
// leaves them pending and the other one claims and processes every one of them; at the end every
// lead is an opportunity routed as expected, nothing pending, no CRM record twice.
//
// Which process ran which entry: the test's copy of the filter-queue workflow has one extra branch
// off the trigger, run before the template's own nodes, that writes { entryId, deliveryCount,
// instance } per item to a stream of the test's own. The template's nodes are unchanged.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import Redis from 'ioredis';

import { sandboxSecrets } from '../../scripts/local-credentials.mjs';
import { N8nInstance, packThePack } from '../../scripts/n8n-rig.mjs';
import { installPipeline } from '../../scripts/pipeline-setup.mjs';
import { DEAD_LETTER_STREAMS, pipelineStats, statsTable } from '../../scripts/pipeline-stats.mjs';
import { expectedProcess, postLeads } from '../../scripts/sample-leads.mjs';
import { startSandboxes } from '../../scripts/sandboxes.mjs';
import { OwnRedis } from './support/own-redis.mjs';
import { settled, timer, until } from './support/wait.mjs';

const STREAM = 'filterQueue';
const GROUP = 'newOpportunityProcessor';
const AUDIT = 'scaleOut:processed';
// Pushed at once: 8 batches of 500, the 4 parallel executions of each process. Should B finish all
// of its batches before A acknowledged one, another chunk gives it work again (up to MAX_LEADS).
const FIRST_PUSH = 4000;
const CHUNK = 1000;
const MAX_LEADS = 8000;

const lap = timer('scale-out');
const say = (line) => process.stderr.write(`[scale-out] ${line}\n`);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let ownRedis;
let redis;
let sandbox;
const instances = {};

/**
 * The templates as the full-pipeline test runs them (outreach without business hours, the CRM
 * stand-in's rate), plus the observation branch on the filter-queue trigger.
 */
function forTest(workflow) {
	for (const node of workflow.nodes) {
		if (node.type === 'n8n-nodes-lead-pipeline.whatsAppSend' && node.parameters.operation === 'send' && node.parameters.useBusinessRules) node.parameters.useBusinessRules = false;
		if (node.type === 'n8n-nodes-lead-pipeline.crmSync') node.parameters.options = { ...node.parameters.options, rateLimit: 1000 };
	}
	const trigger = workflow.nodes.find((n) => n.type === 'n8n-nodes-lead-pipeline.redisStreamConsumerTrigger' && n.parameters.stream === STREAM);
	if (!trigger) return workflow;
	const dedupe = workflow.nodes.find((n) => n.type === 'n8n-nodes-lead-pipeline.dedupe');
	const streamAdd = workflow.nodes.find((n) => n.type === 'n8n-nodes-lead-pipeline.redisStream' && n.parameters.operation === 'add');
	workflow.nodes.push({
		id: '5ca1e0a7-0000-4000-8000-000000000001',
		name: 'Scale-out test: record who processed it',
		type: 'n8n-nodes-lead-pipeline.redisStream',
		typeVersion: 1,
		// Above Dedupe: n8n's v1 order runs the topmost branch first.
		position: [dedupe.position[0], dedupe.position[1] - 300],
		parameters: {
			operation: 'add',
			stream: AUDIT,
			entryPer: 'item',
			payload: 'custom',
			message: '={{ { "entryId": $json.id, "deliveryCount": $json.deliveryCount, "traceId": $json.message.traceId, "instance": $env.SCALE_OUT_INSTANCE, "executionId": $execution.id } }}',
			addOptions: {},
		},
		credentials: streamAdd.credentials,
	});
	workflow.connections[trigger.name].main[0].unshift({ node: 'Scale-out test: record who processed it', type: 'main', index: 0 });
	return workflow;
}

/** Reads the observation stream from where it left off; each record gets the time it was seen. */
function auditReader() {
	const records = [];
	let last = '-';
	return {
		records,
		async read() {
			const entries = await redis.xrange(AUDIT, last === '-' ? '-' : `(${last}`, '+');
			const seenAt = Date.now();
			for (const [id, fields] of entries) {
				records.push({ ...JSON.parse(fields[fields.indexOf('message') + 1]), seenAt });
				last = id;
			}
			return records;
		},
	};
}

/** The group's PEL: [{ id, consumer, idleMs, deliveries }] (of one consumer when given). */
async function pel(consumer) {
	const rows = [];
	let start = '-';
	for (;;) {
		const page = consumer ? await redis.xpending(STREAM, GROUP, start, '+', 1000, consumer) : await redis.xpending(STREAM, GROUP, start, '+', 1000);
		for (const [id, owner, idleMs, deliveries] of page) rows.push({ id, consumer: owner, idleMs: Number(idleMs), deliveries: Number(deliveries) });
		if (page.length < 1000) return rows;
		const [ms, seq] = page[page.length - 1][0].split('-');
		start = `${ms}-${BigInt(seq) + 1n}`;
	}
}

const fieldsOf = (flat) => Object.fromEntries(flat.reduce((pairs, value, i) => (i % 2 ? pairs : [...pairs, [value, flat[i + 1]]]), []));

async function groupInfo() {
	const group = (await redis.xinfo('GROUPS', STREAM)).map(fieldsOf).find((g) => g.name === GROUP);
	return { lag: group.lag === null ? null : Number(group.lag), pending: Number(group.pending), lastDelivered: group['last-delivered-id'] };
}

async function consumers() {
	try {
		return (await redis.xinfo('CONSUMERS', STREAM, GROUP)).map(fieldsOf).map((c) => ({ name: c.name, pending: Number(c.pending), idleMs: Number(c.idle) }));
	} catch {
		return []; // no stream or group yet
	}
}

const countBy = (list, key) => list.reduce((m, x) => m.set(key(x), (m.get(key(x)) ?? 0) + 1), new Map());

before(async () => {
	ownRedis = await OwnRedis.start();
	redis = new Redis(ownRedis.url, { maxRetriesPerRequest: null });
	redis.on('error', () => undefined);
	sandbox = await startSandboxes(sandboxSecrets());
	// The secrets installPipeline would generate, fixed once, so both processes hold the same credentials.
	const env = {
		LEAD_PIPELINE_FORM_SECRET: randomBytes(24).toString('hex'),
		LEAD_PIPELINE_AGENT_KEY: randomBytes(18).toString('base64url'),
		LEAD_PIPELINE_DASHBOARD_PASSWORD: randomBytes(12).toString('base64url'),
		WHATSAPP_APP_SECRET: randomBytes(24).toString('hex'),
		WHATSAPP_VERIFY_TOKEN: randomBytes(16).toString('hex'),
	};
	const processEnv = (name) => ({ N8N_BLOCK_ENV_ACCESS_IN_NODE: 'false', SCALE_OUT_INSTANCE: name });
	const a = await N8nInstance.create({ env: processEnv('A'), processGroup: true });
	a.installPack(packThePack(mkdtempSync(join(tmpdir(), 'lead-pipeline-pack-'))));
	installPipeline(a, { redisUrl: ownRedis.url, sandbox, env, fresh: true, transform: forTest });
	lap('setup of A (pack, credentials, templates)');
	// B gets a copy of A's user folder before either starts: the same pack, credentials (and
	// encryption key) and published workflows in a SQLite file of its own, without another
	// dozen CLI boots of n8n.
	const folderB = mkdtempSync(join(tmpdir(), 'lead-pipeline-n8n-b-'));
	cpSync(a.userFolder, folderB, { recursive: true, verbatimSymlinks: true });
	const b = await N8nInstance.create({ userFolder: folderB, env: processEnv('B'), processGroup: true });
	instances.A = a;
	instances.B = b;
	lap('user folder copied for B');
	await Promise.all([a.start(), b.start()]);
	await a.waitForWebhook('leads');
	lap('both n8n started');
});

after(async () => {
	await Promise.all(Object.values(instances).map((n8n) => n8n.stop()));
	await sandbox?.stop();
	redis?.disconnect();
	await ownRedis?.stop();
});

test('two n8n processes on one Redis split the filter queue; SIGKILL one mid-run and the other takes over its pending entries', { timeout: 840_000 }, async () => {
	const { A, B } = instances;
	// The trigger's default consumer name is host-pid plus a random suffix per activation: one per
	// process, so the two never share a PEL. The prefixes find the names the two activations chose.
	const prefixes = { A: `${hostname()}-${A.process.pid}-`, B: `${hostname()}-${B.process.pid}-` };
	const names = {};
	const activationOf = (name, prefix) => name.startsWith(prefix) && /^[0-9a-f]{6}$/.test(name.slice(prefix.length));
	const joined = await until(
		async () => {
			const list = await consumers();
			for (const k of ['A', 'B']) names[k] = list.find((c) => activationOf(c.name, prefixes[k]))?.name;
			return names.A && names.B && list;
		},
		`both processes to join group ${GROUP} as ${prefixes.A}… and ${prefixes.B}…`,
		{ timeoutMs: 120_000, state: () => ({ prefixes, names }) },
	);
	say(`consumers in ${GROUP}: ${joined.map((c) => c.name).join(', ')} (A = ${names.A}, B = ${names.B})`);
	const instanceOf = (consumer) => Object.keys(names).find((k) => names[k] === consumer) ?? consumer;

	// One lead through A's intake URL: the entry the Lead Trigger writes is the template for the rest.
	const runId = Date.now().toString(36);
	const [warm] = await postLeads(A.url, [{ id: `${runId}-warm`, channel: 'WEBSITE', name: 'Warm Up', phone: '+919699999999', email: `warm.${runId}@example.com`, destination: 'Peru' }], {});
	assert.equal(warm.status, 202, warm.text);
	const before = await settled(() => pipelineStats(redis, {}), 'the warm-up lead to be routed', {
		timeoutMs: 120_000,
		done: (s) => s.opportunities === 1 && Object.values(s.queues).every((q) => q.pending === 0),
	});
	const crmBefore = (await sandbox.read('/crm/opportunities')).length;
	const [[, warmFields]] = await redis.xrange(STREAM, '-', '+');
	const template = JSON.parse(warmFields[warmFields.indexOf('message') + 1]);
	lap('warm-up lead routed');

	const destinations = ['Maldives', 'Singapore', 'Goa', 'Dubai', 'Peru'];
	const expected = { NO_FILTER: 0, PSV: 0, WEST: 0, UNKNOWN: 0 };
	const traceOf = new Map();
	let pushed = 0;
	const push = async (count) => {
		// One transaction: blocked readers wake once, to full batches.
		const multi = redis.multi();
		const traces = [];
		for (let i = pushed; i < pushed + count; i++) {
			const traceId = `scale-${runId}-${i}`;
			const destination = destinations[i % destinations.length];
			expected[expectedProcess({ channel: 'WEBSITE', destination })]++;
			const digits = String(i).padStart(8, '0');
			const leadData = { ...template.leadData, traceId, name: `Scale Lead ${i}`, phone: `+9197${digits}`, waId: `9197${digits}`, email: `scale.${runId}.${i}@example.com`, destination, raw: undefined };
			multi.xadd(STREAM, '*', 'message', JSON.stringify({ ...template, leadData, traceId }));
			traces.push(traceId);
		}
		const results = await multi.exec();
		results.forEach(([error, id], k) => {
			assert.equal(error, null);
			traceOf.set(id, traces[k]);
		});
		pushed += count;
	};

	const audit = auditReader();
	const startedAt = Date.now();
	await push(FIRST_PUSH);
	lap(`pushed ${FIRST_PUSH} leads into ${STREAM}`);

	// Steady state: wait until each process has acknowledged entries and B holds some pending.
	let kill;
	let lastState;
	while (!kill) {
		const records = await audit.read(); // before the PEL: an audited entry missing from a later PEL read is acknowledged
		const pending = await pel();
		const { lag } = await groupInfo();
		const pendingIds = new Set(pending.map((p) => p.id));
		const acked = { A: new Set(), B: new Set() };
		for (const r of records) if (traceOf.has(r.entryId) && !pendingIds.has(r.entryId)) acked[r.instance]?.add(r.entryId);
		const held = countBy(pending, (p) => instanceOf(p.consumer));
		lastState = { pushed, lag, acked: { A: acked.A.size, B: acked.B.size }, pending: Object.fromEntries(held) };
		if (acked.A.size > 0 && acked.B.size > 0 && (held.get('B') ?? 0) > 0) {
			const at = Date.now();
			await B.kill();
			// B is gone: its PEL can only shrink now, by A's claims, and only once its entries have been
			// idle for the claim timeout (10 s; B renewed them every 3.3 s while alive).
			const killedPel = await pel(names.B);
			const wholePel = await pel();
			const afterRecords = await audit.read();
			kill = {
				at,
				afterStartMs: at - startedAt,
				readAfterMs: Date.now() - at,
				entries: new Set(killedPel.map((p) => p.id)),
				maxIdleMs: Math.max(...killedPel.map((p) => p.idleMs)),
				redeliveredInSteadyState: wholePel.filter((p) => p.deliveries > 1),
				ackedBefore: { A: acked.A.size, B: acked.B.size },
				auditedByBBeforeKill: new Set(afterRecords.filter((r) => r.instance === 'B').map((r) => r.entryId)),
				pendingA: wholePel.filter((p) => p.consumer === names.A).length,
				lag,
			};
			say(`SIGKILL B at ${kill.afterStartMs} ms: acknowledged so far A ${acked.A.size}, B ${acked.B.size}; B held ${kill.entries.size} pending (idle ≤ ${kill.maxIdleMs} ms), A ${kill.pendingA}; lag ${lag}; ${pushed} pushed`);
			break;
		}
		if (lag === 0 && !held.get('B')) {
			if (pushed >= MAX_LEADS) assert.fail(`${pushed} leads pushed and B never caught holding entries after both acknowledged some: ${JSON.stringify(lastState)}`);
			await push(Math.min(CHUNK, MAX_LEADS - pushed));
		}
		if (Date.now() - startedAt > 180_000) assert.fail(`no moment with both processes acknowledged and B holding entries in 180 s: ${JSON.stringify(lastState)}`);
		await sleep(200);
	}
	lap('B killed');
	assert.ok(kill.ackedBefore.A > 0 && kill.ackedBefore.B > 0, 'both processes acknowledged entries before the kill');
	assert.ok(kill.entries.size > 0, 'B held pending entries when it was killed');
	assert.ok(kill.maxIdleMs < 10_000, `B's entries were read from its PEL before any could be claimed (idle ${kill.maxIdleMs} ms)`);
	assert.deepEqual(kill.redeliveredInSteadyState.slice(0, 5), [], 'entries delivered more than once while both processes ran');

	// Takeover: every entry B held is processed again by A; then the group drains.
	let firstTakeoverMs;
	let takeoverMs;
	let drainedMs;
	await until(
		async () => {
			const records = await audit.read();
			const redone = new Set(records.filter((r) => r.instance === 'A' && r.deliveryCount > 1 && kill.entries.has(r.entryId)).map((r) => r.entryId));
			if (redone.size > 0 && firstTakeoverMs === undefined) firstTakeoverMs = records.find((r) => r.instance === 'A' && r.deliveryCount > 1 && kill.entries.has(r.entryId)).seenAt - kill.at;
			if (redone.size === kill.entries.size && takeoverMs === undefined) takeoverMs = Date.now() - kill.at;
			const group = await groupInfo();
			lastState = { redone: redone.size, of: kill.entries.size, ...group };
			if (takeoverMs !== undefined && group.pending === 0 && group.lag === 0) {
				drainedMs = Date.now() - kill.at;
				return true;
			}
			return false;
		},
		'A to take over what B held and drain filterQueue',
		{ timeoutMs: 240_000, intervalMs: 250, state: () => lastState, logs: () => A.logs },
	);
	lap('filterQueue drained by A');
	const total = before.opportunities + pushed;
	// CRM sync and outreach now run on A alone, and take over B's syncQueue / outreachQueue entries
	// only after their 30 s claim timeout; on a loaded 2-core machine this took 75–195 s.
	const stats = await settled(async () => pipelineStats(redis, { receiver: await sandbox.summary() }), 'the rest of the pipeline to finish', {
		timeoutMs: 420_000,
		done: (s) => Object.values(s.queues).every((q) => q.pending === 0) && s.opportunities === total && s.crmSynced === before.crmSynced + expected.NO_FILTER,
	});
	lap('pipeline at rest');
	process.stderr.write(`${statsTable(stats)}\n`);

	// Every lead processed, by whom, how often.
	const records = (await audit.read()).filter((r) => traceOf.has(r.entryId));
	const byEntry = new Map();
	for (const r of records) byEntry.set(r.entryId, [...(byEntry.get(r.entryId) ?? []), r]);
	const missing = [...traceOf.keys()].filter((id) => !byEntry.has(id));
	assert.deepEqual(missing.slice(0, 5), [], `${missing.length} leads never reached the workflow`);
	const twice = [...byEntry].filter(([, rs]) => rs.length > 1).map(([id]) => id);
	assert.deepEqual(twice.filter((id) => !kill.entries.has(id)).slice(0, 5), [], 'processed more than once outside what B held at the kill');
	const redelivered = records.filter((r) => r.deliveryCount > 1);
	assert.deepEqual(redelivered.filter((r) => !kill.entries.has(r.entryId)).slice(0, 5), [], 'delivered again outside what B held at the kill');
	assert.deepEqual(redelivered.filter((r) => r.instance !== 'A').slice(0, 5), [], 'redelivered to a process other than A');
	const notTakenOver = [...kill.entries].filter((id) => !byEntry.get(id)?.some((r) => r.instance === 'A' && r.deliveryCount > 1));
	assert.deepEqual(notTakenOver.slice(0, 5), [], 'entries B held that A did not claim and process');
	const finalBy = countBy([...byEntry.values()], (rs) => rs[rs.length - 1].instance);
	assert.ok((finalBy.get('A') ?? 0) > 0 && (finalBy.get('B') ?? 0) > 0, `the work was split: ${JSON.stringify([...finalBy])}`);

	// The group: nothing pending, nothing left to read; B's consumer holds nothing (still listed, or
	// already removed by A as an idle consumer with nothing pending).
	assert.equal((await pel()).length, 0, `XPENDING ${STREAM}`);
	assert.equal((await groupInfo()).lag, 0, `lag of ${GROUP}`);
	const finalConsumers = await consumers();
	assert.equal(finalConsumers.find((c) => c.name === names.B)?.pending ?? 0, 0, "the dead consumer's pending entries");

	// The redo was harmless: one opportunity per lead, routed as expected, no CRM record twice.
	assert.equal(stats.opportunities - before.opportunities, pushed, 'every lead became an opportunity (0 lost)');
	for (const p of Object.keys(expected)) assert.equal(stats.perProcess[p] - before.perProcess[p], expected[p], `routed ${p}`);
	assert.equal(stats.duplicates, before.duplicates, 'a redelivered lead was taken for a duplicate of itself');
	const crm = (await sandbox.read('/crm/opportunities')).slice(crmBefore);
	assert.equal(crm.length, expected.NO_FILTER, 'CRM opportunities');
	assert.deepEqual([...countBy(crm, (o) => o.traceId)].filter(([, n]) => n > 1), [], 'CRM opportunities created twice');
	// Sync-queue messages keep the shape the existing sync consumer reads (traceID).
	const creates = (await redis.xrange('syncQueue', '-', '+')).map(([, f]) => JSON.parse(f[f.indexOf('message') + 1])).filter((m) => m.action === 'CREATE');
	assert.ok(creates.every((m) => m.traceID), 'sync-queue CREATE messages carry traceID');
	// Hand-offs by the Filter Router only: CRM Sync's retry queue puts a parked message back on the
	// sync queue as a new entry carrying crmRetry (a lead whose push the killed process still leased).
	const handedOff = creates.filter((m) => m.crmRetry === undefined);
	const createdTwice = [...countBy(handedOff, (m) => m.traceID)].filter(([, n]) => n > 1).map(([t]) => t);
	const killedTraces = new Set([...kill.entries].map((id) => traceOf.get(id)));
	assert.deepEqual(createdTwice.filter((t) => !killedTraces.has(t)), [], 'sync-queue CREATE twice outside what B held');
	const sends = (await sandbox.read('/whatsapp')).filter((r) => r.answer === 'ok');
	assert.deepEqual([...countBy(sends, (r) => `${r.to}|${r.type}|${r.template ?? ''}`)].filter(([, n]) => n > 1), [], 'WhatsApp messages sent twice');
	// A WhatsApp send the kill interrupted is kept as a dead letter with that reason, not resent.
	for (const stream of DEAD_LETTER_STREAMS) {
		const entries = (await redis.xrange(stream, '-', '+')).map(([, f]) => f[f.indexOf('message') + 1]);
		const other = entries.filter((e) => !/was interrupted while sending/.test(e));
		assert.deepEqual(other.slice(0, 2), [], `dead letters in ${stream} (other than interrupted WhatsApp sends)`);
		for (const e of entries.filter((x) => !other.includes(x))) {
			const to = JSON.parse(e).item?.whatsApp?.to;
			assert.ok(sends.filter((r) => r.to === to).length <= 1, `interrupted send to ${to} reached WhatsApp at most once`);
		}
	}

	const webhooks = await sandbox.read('/webhooks');
	const figures = {
		leads: pushed,
		consumers: names,
		killAfterMs: kill.afterStartMs,
		ackedBeforeKill: kill.ackedBefore,
		pendingOfBAtKill: kill.entries.size,
		pendingOfAAtKill: kill.pendingA,
		lagAtKill: kill.lag,
		pelReadAfterKillMs: kill.readAfterMs,
		alreadyAuditedByBOfItsPending: [...kill.entries].filter((id) => kill.auditedByBBeforeKill.has(id)).length,
		killToFirstClaimProcessedMs: firstTakeoverMs,
		killToAllClaimedProcessedMs: takeoverMs,
		killToFilterQueueDrainedMs: drainedMs,
		redeliveredEntries: new Set(redelivered.map((r) => r.entryId)).size,
		processedTwice: twice.length,
		finalProcessedBy: Object.fromEntries(finalBy),
		executionsPerProcess: Object.fromEntries([...countBy([...new Set(records.map((r) => `${r.instance}|${r.executionId}`))], (k) => k.split('|')[0])]),
		syncQueueCreatesTwice: createdTwice.length,
		crmOpportunities: crm.length,
		webhookRequests: webhooks.length,
		webhookIds: new Set(webhooks.map((w) => w.webhookId)).size,
		elapsedMs: Date.now() - startedAt,
	};
	say(JSON.stringify(figures));
});
