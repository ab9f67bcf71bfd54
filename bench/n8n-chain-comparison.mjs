// The same leads through n8n's own chain and through the pack's filter-queue path, in one real n8n
// on one Redis of the run's own, one after the other (ours first: see below):
//   theirs: Redis Trigger (pub/sub) → Remove Duplicates (value seen in previous executions: the
//           phone) → Switch (rules on channel and destination, the destination map of
//           workflows/filter-queue.json, fallback = UNKNOWN) → Redis push onto a list per process;
//           the discarded duplicates are pushed onto a list of their own (to count them).
//   ours:   a slimmer copy of workflows/filter-queue.json: its trigger (filterQueue, batch 500 × 4),
//           Dedupe Leads and Filter Router nodes and settings as shipped, the five process outputs
//           into one Redis Stream Add (traceId + process) instead of WhatsApp / webhooks / review.
// The leads (default 2,000, 15 % repeating an earlier lead's phone) are PUBLISHed to the channel /
// XADDed to filterQueue at full speed (one pipeline). A lead is "out" when it reached the last node,
// "removed" when a dedupe step discarded it, "lost" when neither: pub/sub keeps nothing for a
// subscriber that is busy, slow or away. Wall time: from the first publish / XADD to the last lead
// accounted for (or, when leads stop coming, the last change:
// 30 s without one, 180 s for the first). Prints figures and ours/theirs; asserts nothing.
//   node bench/n8n-chain-comparison.mjs [--leads=2000] [--duplicate-rate=0.15] [--quiet-seconds=30] [--first-seconds=180]
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';

import Redis from 'ioredis';

import { redisCredential } from '../scripts/local-credentials.mjs';
import { N8nInstance, packThePack } from '../scripts/n8n-rig.mjs';
import { WORKFLOW_DIR } from '../scripts/pipeline-templates.mjs';
import { expectedProcess } from '../scripts/sample-leads.mjs';
import { startRedisServer } from './redis-server.mjs';

const argText = (name, fallback) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback;
const LEADS = Number(argText('leads', 2000));
const DUPLICATE_RATE = Number(argText('duplicate-rate', 0.15));
const QUIET_MS = Number(argText('quiet-seconds', 30)) * 1000;
const FIRST_MS = Number(argText('first-seconds', 180)) * 1000;
const CHANNEL = 'bench:leads';
const PROCESSES = ['NO_FILTER', 'PSV', 'WEST', 'UPCOMING', 'UNKNOWN'];
const THEIRS_DUPLICATES = 'bench:theirs:duplicates';
const OURS_ROUTED = 'bench:ours:routed';
const out = (line) => process.stdout.write(`${line}\n`);
const load = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const filterQueue = JSON.parse(readFileSync(join(WORKFLOW_DIR, 'filter-queue.json'), 'utf8'));
const routerNode = filterQueue.nodes.find((n) => n.type === 'n8n-nodes-lead-pipeline.filterRouter');
const DESTINATION_MAP = JSON.parse(routerNode.parameters.destinationMap);

/** Deterministic leads as the Lead Trigger queues them; a duplicate repeats an earlier lead's phone, channel and destination. */
function leadSet(count) {
	let s = 20250601;
	const rnd = () => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
	const destinations = [...Object.keys(DESTINATION_MAP), 'Peru'];
	const originals = [];
	return Array.from({ length: count }, (_, i) => {
		const traceId = `01JDCHAIN${String(i).padStart(17, '0')}`;
		const base = originals.length && rnd() < DUPLICATE_RATE ? originals[Math.floor(rnd() * originals.length)] : undefined;
		const channel = base?.channel ?? (rnd() < 0.8 ? 'WEBSITE' : 'WHATSAPP_BOT');
		const lead = {
			traceId,
			channel,
			name: `Chain Lead ${i}`,
			phone: base?.phone ?? `+9198${String(10_000_000 + i).slice(-8)}`,
			email: base ? undefined : `chain.lead.${i}@example.com`,
			destination: base?.destination ?? destinations[Math.floor(rnd() * destinations.length)],
			duplicateOf: base?.traceId,
		};
		if (!base) originals.push(lead);
		return lead;
	});
}
const entryOf = (lead) =>
	JSON.stringify({
		source: lead.channel,
		traceId: lead.traceId,
		leadData: { source: { channel: lead.channel }, traceId: lead.traceId, receivedAt: new Date().toISOString(), name: lead.name, phone: lead.phone, email: lead.email, destination: lead.destination },
	});

const theirsCredential = { redis: { id: 'BenchN8nRedis001', name: 'Bench n8n Redis' } };
/** n8n's own chain, built of built-in nodes only. */
function theirsWorkflow() {
	const at = (x, y = 0) => [x, y];
	const placesOf = (process) => Object.keys(DESTINATION_MAP).filter((place) => DESTINATION_MAP[place] === process);
	const equals = (left, right) => ({ leftValue: left, rightValue: right, operator: { type: 'string', operation: 'equals' } });
	const destination = '={{ $json.message.leadData.destination }}';
	const rule = (process) => ({
		outputKey: process,
		renameOutput: true,
		conditions: {
			options: { caseSensitive: true, leftValue: '', typeValidation: 'loose', version: 2 },
			combinator: 'or',
			conditions: [
				// Rule 1 of the Filter Router: bot leads go straight to the CRM.
				...(process === 'NO_FILTER' ? [equals('={{ $json.message.source }}', 'WHATSAPP_BOT')] : []),
				...placesOf(process).map((place) => equals(destination, place)),
			],
		},
	});
	const push = (name, list, y) => ({ id: `theirs-${name}`, name, type: 'n8n-nodes-base.redis', typeVersion: 1, position: at(700, y), parameters: { operation: 'push', list, messageData: '={{ $json.message.traceId }}', tail: true }, credentials: theirsCredential });
	const routed = PROCESSES.filter((p) => p !== 'UNKNOWN');
	return {
		id: 'LpBenchTheirs001',
		name: 'bench: n8n chain (Redis Trigger → Remove Duplicates → Switch → Redis)',
		nodes: [
			{ id: 'theirs-trigger', name: 'Redis Trigger', type: 'n8n-nodes-base.redisTrigger', typeVersion: 1, position: at(0), parameters: { channels: CHANNEL, options: { jsonParseBody: true, onlyMessage: true } }, credentials: theirsCredential },
			{ id: 'theirs-dedupe', name: 'Remove Duplicates', type: 'n8n-nodes-base.removeDuplicates', typeVersion: 2, position: at(200), parameters: { operation: 'removeItemsSeenInPreviousExecutions', logic: 'removeItemsWithAlreadySeenKeyValues', dedupeValue: '={{ $json.message.leadData.phone }}', options: {} } },
			{ id: 'theirs-switch', name: 'Switch', type: 'n8n-nodes-base.switch', typeVersion: 3.2, position: at(400), parameters: { mode: 'rules', rules: { values: routed.map(rule) }, options: { fallbackOutput: 'extra', renameFallbackOutput: 'UNKNOWN' } } },
			...PROCESSES.map((p, i) => push(`Push ${p}`, `bench:theirs:${p}`, i * 150)),
			push('Push duplicate', THEIRS_DUPLICATES, -150),
		],
		connections: {
			'Redis Trigger': { main: [[{ node: 'Remove Duplicates', type: 'main', index: 0 }]] },
			'Remove Duplicates': { main: [[{ node: 'Switch', type: 'main', index: 0 }], [{ node: 'Push duplicate', type: 'main', index: 0 }]] },
			Switch: { main: PROCESSES.map((p) => [{ node: `Push ${p}`, type: 'main', index: 0 }]) },
		},
		settings: { executionOrder: 'v1' },
		active: false,
	};
}

/** workflows/filter-queue.json down to trigger → Dedupe Leads → Filter Router → one Redis Stream Add. */
function oursWorkflow() {
	const keep = ['Filter queue', 'Dedupe Leads', 'Duplicate (logged)', 'Filter Router', 'Dead-letter the item'];
	const nodes = filterQueue.nodes.filter((n) => keep.includes(n.name));
	if (nodes.length !== keep.length) throw new Error(`workflows/filter-queue.json no longer has the nodes ${keep.join(', ')}`);
	const credentials = nodes.find((n) => n.name === 'Filter Router').credentials;
	nodes.push({ id: 'ours-routed', name: 'Routed', type: 'n8n-nodes-lead-pipeline.redisStream', typeVersion: 1, position: [800, 0], parameters: { operation: 'add', stream: OURS_ROUTED, entryPer: 'item', payload: 'custom', message: '={{ { "traceId": $json.message.traceId, "process": $json.filtrationProcess } }}', addOptions: {} }, credentials });
	const to = (node) => [{ node, type: 'main', index: 0 }];
	return {
		id: 'LpBenchOursFq001',
		name: 'bench: filter queue, trigger → Dedupe Leads → Filter Router → Redis Stream Add',
		nodes,
		connections: {
			'Filter queue': { main: [to('Dedupe Leads')] },
			'Dedupe Leads': { main: [to('Filter Router'), to('Duplicate (logged)'), to('Dead-letter the item')] },
			'Filter Router': { main: [...PROCESSES.map(() => to('Routed')), to('Dead-letter the item')] },
		},
		settings: filterQueue.settings,
		active: false,
	};
}

/**
 * Polls `count()` until it reaches `total`, or stays the same for QUIET_MS after a change (FIRST_MS
 * for the first lead); returns the time of the last change.
 */
async function drain(count, total, started) {
	let last = 0;
	let changedAt = started;
	for (;;) {
		const now = await count();
		if (now !== last) {
			last = now;
			changedAt = Date.now();
		}
		const waited = Date.now() - changedAt;
		if (now >= total || waited > (last ? QUIET_MS : FIRST_MS)) return { accounted: now, seconds: (changedAt - started) / 1000 };
		await sleep(20);
	}
}

const perSecond = (rate) => rate.toFixed(rate >= 10 ? 0 : 2);

/** routedEntries: [{ traceId, process }] that reached the last node. */
function report(name, leads, { routedEntries, removed, seconds, extra = '' }) {
	const byTrace = new Map(leads.map((l) => [l.traceId, l]));
	const routed = routedEntries.map((e) => byTrace.get(e.traceId));
	const people = new Set(leads.map((l) => l.phone)).size;
	const reached = new Set(routed.map((l) => l.phone)).size;
	const lost = leads.length - routed.length - removed;
	const handled = routed.length + removed;
	if (!handled) {
		out(`${name}: leads in ${leads.length}, leads out 0, duplicates removed 0, lost ${lost}: nothing reached the end within ${FIRST_MS / 1000} s${extra}; load ${load()}`);
		return { out: 0, lost, handled, rate: 0, outRate: 0 };
	}
	const misrouted = routedEntries.filter((e) => e.process !== expectedProcess(byTrace.get(e.traceId))).length;
	out(`${name}: leads in ${leads.length}, leads out ${routed.length} (${reached}/${people} people), duplicates removed ${removed}, lost ${lost}, duplicates let through ${routed.length - reached}${misrouted ? `, misrouted ${misrouted}` : ''}; wall time ${seconds.toFixed(2)} s, ${perSecond(handled / seconds)} leads/s handled (out + removed), ${perSecond(routed.length / seconds)} leads out/s${extra}; load ${load()}`);
	return { out: routed.length, lost, handled, rate: handled / seconds, outRate: routed.length / seconds };
}

/**
 * How n8n's executions of a workflow ended, from its SQLite database after it stopped: failed (with
 * the two failures seen), never started, left "running". Needs the sqlite3 command.
 */
function executionsLeft(n8n, workflowId) {
	const sql = (query) => execFileSync('sqlite3', [join(n8n.userFolder, '.n8n/database.sqlite'), query], { encoding: 'utf8' }).trim();
	try {
		const byStatus = Object.fromEntries(sql(`select status, count(*) from execution_entity where workflowId = '${workflowId}' group by status`).split('\n').filter(Boolean).map((row) => row.split('|')));
		const failedWith = (text) => sql(`select count(*) from execution_data d join execution_entity e on e.id = d.executionId where e.workflowId = '${workflowId}' and e.status = 'error' and d.data like '%${text}%'`);
		// With successful runs not saved, n8n 2.41 still leaves their rows "running" (ours' too).
		return `; n8n's database: ${byStatus.error ?? 0} failed (${failedWith('UNIQUE constraint failed: processed_data')} "UNIQUE constraint failed: processed_data", ${failedWith('Timeout waiting for lock')} "Timeout waiting for lock SqliteWriteConnectionMutex"), ${byStatus.new ?? 0} never started, ${byStatus.running ?? 0} rows "running" (successes included)`;
	} catch (error) {
		return `; (n8n's executions not read: ${String(error.message).split('\n')[0]})`;
	}
}

const ratio = (a, b) => (b > 0 ? `${(a / b).toFixed(2)}×` : `n/a (theirs 0)`);

const leads = leadSet(LEADS);
const redisServer = await startRedisServer();
const n8n = await N8nInstance.create();
let redis;
try {
	n8n.installPack(packThePack(mkdtempSync(join(tmpdir(), 'lead-pipeline-pack-'))));
	const url = new URL(redisServer.url);
	n8n.importCredentials([
		redisCredential(redisServer.url),
		{ id: theirsCredential.redis.id, name: theirsCredential.redis.name, type: 'redis', data: { host: url.hostname, port: Number(url.port), database: 0, user: '', password: '', ssl: false } },
	]);
	const workflows = [theirsWorkflow(), oursWorkflow()];
	const file = join(n8n.userFolder, 'bench-chains.json');
	writeFileSync(file, JSON.stringify(workflows));
	n8n.importWorkflow(file);
	for (const w of workflows) n8n.publishWorkflow(w.id);
	// As the other benches: a high-volume production setting, successful runs not stored.
	await n8n.start({ env: { EXECUTIONS_DATA_SAVE_ON_SUCCESS: 'none', DB_SQLITE_POOL_SIZE: '4' } });
	// Connected only now: the synchronous build and CLI calls above block this process's event loop.
	redis = new Redis(redisServer.url);
	while (Number(await redis.pubsub('NUMPAT')) < 1) await sleep(200);
	while (!(await redis.xinfo('GROUPS', 'filterQueue').then((g) => g.length > 0, () => false))) await sleep(200);
	const people = new Set(leads.map((l) => l.phone)).size;
	out(`${LEADS} leads, ${LEADS - people} repeat an earlier lead's phone (${people} people); n8n ${n8n.url}, own redis-server; load average ${load()} (2 cores, shared)`);
	await sleep(3000);

	// Ours first: n8n's chain can leave n8n busy (failing executions) long after its last change.
	const oursCount = async () => (await Promise.all([redis.xlen(OURS_ROUTED), redis.xlen('leads:duplicates'), redis.xlen('DLQFilterQueueItems')])).reduce((a, b) => a + b, 0);
	let started = Date.now();
	const add = redis.pipeline();
	for (const lead of leads) add.xadd('filterQueue', '*', 'message', entryOf(lead));
	await add.exec();
	const addSeconds = (Date.now() - started) / 1000;
	const oursDrain = await drain(oursCount, LEADS, started);
	const oursRouted = (await redis.xrange(OURS_ROUTED, '-', '+')).map(([, f]) => JSON.parse(f[f.indexOf('message') + 1]));
	const deadLetters = await redis.xlen('DLQFilterQueueItems');
	const ours = report('ours (Consumer Trigger 500 × 4 → Dedupe Leads → Filter Router → Redis Stream Add)', leads, {
		routedEntries: oursRouted,
		removed: await redis.xlen('leads:duplicates'),
		seconds: oursDrain.seconds,
		extra: `; XADDed in ${addSeconds.toFixed(2)} s${deadLetters ? `, ${deadLetters} dead-lettered` : ''}`,
	});
	await sleep(3000);

	// Theirs.
	const theirsLists = [...PROCESSES.map((p) => `bench:theirs:${p}`), THEIRS_DUPLICATES];
	const theirsCount = async () => (await Promise.all(theirsLists.map((k) => redis.llen(k)))).reduce((a, b) => a + b, 0);
	started = Date.now();
	const publish = redis.pipeline();
	for (const lead of leads) publish.publish(CHANNEL, entryOf(lead));
	const receivers = (await publish.exec()).map(([, n]) => n);
	const publishSeconds = (Date.now() - started) / 1000;
	const theirsDrain = await drain(theirsCount, LEADS, started);
	const theirsRouted = [];
	for (const process of PROCESSES) for (const traceId of await redis.lrange(`bench:theirs:${process}`, 0, -1)) theirsRouted.push({ traceId, process });
	const removed = await redis.llen(THEIRS_DUPLICATES);
	await n8n.stop();
	const theirs = report('n8n chain (Redis Trigger → Remove Duplicates → Switch → Redis push)', leads, {
		routedEntries: theirsRouted,
		removed,
		seconds: theirsDrain.seconds,
		extra: `; published in ${publishSeconds.toFixed(2)} s, ${receivers.filter((n) => n === 0).length} to no subscriber; ${LEADS} executions${executionsLeft(n8n, 'LpBenchTheirs001')}`,
	});
	out(`ours/theirs: leads out ${ratio(ours.out, theirs.out)}, leads/s handled ${ratio(ours.rate, theirs.rate)}, leads out/s ${ratio(ours.outRate, theirs.outRate)}; load average ${load()}`);
} finally {
	if (process.env.BENCH_N8N_LOG) writeFileSync(process.env.BENCH_N8N_LOG, n8n.logs);
	await n8n.stop();
	redis?.disconnect();
	await redisServer.stop();
}
