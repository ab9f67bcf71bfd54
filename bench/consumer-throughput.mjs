// Executions/s and messages/s through the Redis Stream Consumer trigger in real n8n (trigger →
// No-Op) for batch 10 / 100 / 500 / 1000 × parallel 1 / 4 / 8, against n8n's own execution floor
// measured in the same run: a bare Webhook → Respond to Webhook workflow at concurrency 16 (the
// cheapest trigger that starts executions back to back), measured right before each cell (the
// machine's load drifts; each ratio is to the floor next to it) and before/after the whole curve.
// A raw ioredis XREADGROUP + XACK loop gives the Redis side for scale. Then n8n's RSS and V8 heap
// after a forced full GC (DevTools protocol), before and after --rss-messages more messages at
// batch 1000 × 4. Prints figures and ratios; asserts nothing.
//   node bench/consumer-throughput.mjs [--executions=200] [--floor-seconds=15] [--cell-floor-seconds=5] [--rss-messages=1000000]
//     [--batches=10,100,500,1000] [--parallel=1,4,8] [--cpu-profile=<file.cpuprofile>]
// --cpu-profile: n8n's CPU profile (open in Chrome DevTools) of 100 more executions at batch 1000 × 4.
// --pipeline=10,1000: also the pack's consumer workflow in real n8n (trigger → Dedupe Leads →
//   Filter Router → Redis Stream Add, unique leads) at these batch sizes, parallel 1, against the
//   trigger → No-Op cell of the same shape: the pack's cost per lead in n8n = 1/rate - 1/rate(No-Op).
// --pipeline-parallel=1,4: the parallel executions of those pipeline cells (default 1).
// --pipeline-repeat=3: each pipeline cell's drains (No-Op, No-Op chain, pipeline) run this many times in
//   turn, and the medians are printed: the box's speed drifts by more than the changes measured.
//   The No-Op chain (trigger → three No-Ops) is n8n's own per-node cost for a chain as long as the
//   pipeline, as a second baseline.
// --pipeline-cpu-profile=<file.cpuprofile>: n8n's CPU profile of one more drain of the first pipeline
//   cell, after its measured one (the profiler slows it; its rate is printed apart), and of trigger →
//   No-Op of the same shape (<file>.no-op.cpuprofile).
// Each run's backlog is written to a staging stream first and renamed onto the consumer's stream in
// one step, so every read is a full batch and executions = messages / batch exactly.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';

import Redis from 'ioredis';

import { N8nInstance, packThePack } from '../scripts/n8n-rig.mjs';
import { load } from './http-load.mjs';
import { connectInspector, inspectorUrl } from './inspector.mjs';

const argText = (name, fallback) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback;
const arg = (name, fallback) => Number(argText(name, fallback));
const list = (name, fallback) => argText(name, fallback).split(',').map(Number);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const DB = Number(process.env.BENCH_REDIS_DB ?? 14);
const EXECUTIONS = arg('executions', 200);
const FLOOR_SECONDS = arg('floor-seconds', 15);
const CELL_FLOOR_SECONDS = arg('cell-floor-seconds', 5);
const RSS_MESSAGES = arg('rss-messages', 1_000_000);
const BATCHES = list('batches', '10,100,500,1000');
const PARALLEL = list('parallel', '1,4,8');
const RSS_RUN = { batch: 1000, concurrency: 4 };
const PIPELINE_BATCHES = argText('pipeline', '') ? list('pipeline', '') : [];
const PIPELINE_PARALLEL = list('pipeline-parallel', '1');
const PIPELINE_REPEAT = Math.max(1, arg('pipeline-repeat', 1));
const PIPELINE_NS = `bench:pipe:${process.pid}`;
const RUNS = BATCHES.flatMap((batch) => PARALLEL.map((concurrency) => ({ batch, concurrency })));
for (const run of [RSS_RUN, ...PIPELINE_BATCHES.flatMap((batch) => PIPELINE_PARALLEL.map((concurrency) => ({ batch, concurrency })))]) {
	if (!RUNS.some((r) => r.batch === run.batch && r.concurrency === run.concurrency)) RUNS.push(run);
}
const PIPELINE_RUNS = PIPELINE_BATCHES.flatMap((batch) => PIPELINE_PARALLEL.map((concurrency) => ({ batch, concurrency, pipeline: true })));
const CHAIN_RUNS = PIPELINE_RUNS.map(({ batch, concurrency }) => ({ batch, concurrency, chain: true }));
const key = (r) => `${r.pipeline ? 'pipe' : r.chain ? 'chain' : ''}b${r.batch}c${r.concurrency}`;
const stream = (r) => `bench:${key(r)}`;
const PAYLOAD = JSON.stringify({ source: 'WEBSITE', traceId: '01JD0000000000000000000000', leadData: { name: 'Asha Rao', phone: '+919845098450', email: 'asha@example.com', destination: 'Goa' } });

const redis = new Redis(REDIS_URL, { db: DB });
const out = (line) => process.stdout.write(`${line}\n`);
const load1 = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let leadNo = 0;
/** A queued lead as the Lead Trigger writes it, with its own phone and email (Dedupe sees it as new). */
function uniqueLead() {
	const i = leadNo++;
	const traceId = `01JDBENCH${String(process.pid).padStart(8, '0')}${String(i).padStart(9, '0')}`;
	const leadData = { source: { channel: 'WEBSITE' }, traceId, receivedAt: new Date().toISOString(), name: `Bench Lead ${i}`, phone: `+919${String(800_000_000 + i).padStart(9, '0')}`, email: `lead${i}.${process.pid}@example.com`, destination: ['Goa', 'Dubai', 'Atlantis'][i % 3] };
	return JSON.stringify({ source: 'WEBSITE', traceId, leadData });
}

async function fill(key, count, payload = () => PAYLOAD) {
	for (let sent = 0; sent < count; sent += 1000) {
		const pipeline = redis.pipeline();
		for (let i = sent; i < Math.min(count, sent + 1000); i++) pipeline.xadd(key, '*', 'message', payload());
		await pipeline.exec();
	}
}

const fieldsOf = (row) => Object.fromEntries(Array.from({ length: row.length / 2 }, (_, i) => [row[2 * i], row[2 * i + 1]]));

/** Whether the group has read and acknowledged everything up to lastId; a stall of a minute throws. */
async function drained(key, group, lastId, progress) {
	const groups = await redis.xinfo('GROUPS', key).catch(() => []);
	const g = groups.map(fieldsOf).find((x) => x.name === group);
	const state = `${g?.['last-delivered-id']}/${g?.pending}`;
	if (state !== progress.state) Object.assign(progress, { state, at: Date.now() });
	if (Date.now() - progress.at > 60_000) throw new Error(`${key}: no progress for 60 s (${state}); n8n's log:\n${n8n.logs.slice(-3000)}`);
	return g && g['last-delivered-id'] === lastId && Number(g.pending) === 0;
}

/**
 * Writes the backlog to a staging stream with the group at its start, then RENAMEs it onto the
 * consumer's stream (O(1), Redis stays responsive for everyone else) and times the drain.
 */
async function timeDrain(run, messages) {
	const staging = `${stream(run)}:staging`;
	await redis.del(staging);
	await fill(staging, messages, run.pipeline ? uniqueLead : undefined);
	const lastId = (await redis.xrevrange(staging, '+', '-', 'COUNT', 1))[0][0];
	await redis.xgroup('CREATE', staging, 'g', '0');
	const cpuBefore = await cpuNow();
	const started = process.hrtime.bigint();
	await redis.rename(staging, stream(run));
	const progress = { state: '', at: Date.now() };
	while (!(await drained(stream(run), 'g', lastId, progress))) await sleep(10);
	const seconds = Number(process.hrtime.bigint() - started) / 1e9;
	const cpu = cpuPerMessage(cpuBefore, await cpuNow(), messages);
	// Free Redis memory (shared with others) but keep the stream and its group for the consumer.
	await redis.xtrim(stream(run), 'MAXLEN', 0);
	return { seconds, msgPerS: messages / seconds, execPerS: messages / run.batch / seconds, cpu };
}

const CLOCK_TICKS_PER_S = 100;
/** CPU seconds so far: n8n's main thread, all of n8n's threads (Linux /proc), and the Redis server. */
async function cpuNow() {
	const ticks = (file) => {
		const fields = readFileSync(file, 'utf8').replace(/^.*\) /, '').split(' ');
		return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
	};
	const pid = n8n?.process?.pid;
	const info = await redis.info('cpu');
	const redisCpu = ['used_cpu_user', 'used_cpu_sys'].reduce((sum, k) => sum + Number(info.match(new RegExp(`${k}:([\\d.]+)`))?.[1] ?? 0), 0);
	return { main: pid ? ticks(`/proc/${pid}/task/${pid}/stat`) : 0, n8n: pid ? ticks(`/proc/${pid}/stat`) : 0, redis: redisCpu, commands: await commandTimes() };
}
/** Redis's time per command (µs, INFO commandstats; commands inside scripts count under their own name too). */
async function commandTimes() {
	const times = {};
	for (const [, name, usec] of (await redis.info('commandstats')).matchAll(/cmdstat_([a-z|]+):calls=\d+,usec=(\d+)/g)) times[name] = Number(usec);
	return times;
}
/** µs of CPU per message over a drain, per side; `commands`: Redis µs per message by command. */
const cpuPerMessage = (a, b, messages) => ({
	...Object.fromEntries(['main', 'n8n', 'redis'].map((k) => [k, (1e6 * (b[k] - a[k])) / messages])),
	commands: Object.fromEntries(Object.keys(b.commands).map((c) => [c, (b.commands[c] - (a.commands[c] ?? 0)) / messages])),
});
const showCpu = (c) => `CPU per message: n8n main thread ${c.main.toFixed(0)} µs, n8n all threads ${c.n8n.toFixed(0)} µs, Redis ${c.redis.toFixed(0)} µs`;
/** The commands that took most of Redis's time per message (a script's total includes the commands it ran). */
const showCommands = (c) => Object.entries(c.commands).filter(([, us]) => us >= 0.5).sort((x, y) => y[1] - x[1]).slice(0, 10).map(([name, us]) => `${name} ${us.toFixed(1)}`).join(', ');

async function rawLoop(count) {
	const key = 'bench:raw';
	await redis.del(key);
	await redis.xgroup('CREATE', key, 'g', '0', 'MKSTREAM');
	const reader = new Redis(REDIS_URL, { db: DB });
	const started = process.hrtime.bigint();
	const filling = fill(key, count);
	let done = 0;
	while (done < count) {
		const reply = await reader.xreadgroup('GROUP', 'g', 'c', 'COUNT', 100, 'BLOCK', 1000, 'STREAMS', key, '>');
		const entries = reply?.[0]?.[1] ?? [];
		for (const [, fields] of entries) JSON.parse(fields[1]);
		if (entries.length) await reader.xack(key, 'g', ...entries.map(([id]) => id));
		done += entries.length;
	}
	await filling;
	const rate = count / (Number(process.hrtime.bigint() - started) / 1e9);
	reader.disconnect();
	await redis.del(key);
	return rate;
}

const credentials = { leadPipelineRedis: { id: 'LpRedisBench0001', name: 'Bench Redis' } };
function consumerWorkflow(run) {
	const { batch, concurrency } = run;
	return {
		id: `LpBench${String(batch).padStart(4, '0')}c${String(concurrency).padStart(3, '0')}`,
		name: `bench batch ${batch} × ${concurrency}`,
		nodes: [
			{ id: `${key(run)}-1`, name: 'Consume', type: 'n8n-nodes-lead-pipeline.redisStreamConsumerTrigger', typeVersion: 1, position: [0, 0], parameters: { stream: stream(run), group: 'g', batchSize: batch, concurrency, options: { startId: '0', blockMs: 1000 } }, credentials },
			{ id: `${key(run)}-2`, name: 'No Operation', type: 'n8n-nodes-base.noOp', typeVersion: 1, position: [200, 0], parameters: {} },
		],
		connections: { Consume: { main: [[{ node: 'No Operation', type: 'main', index: 0 }]] } },
		settings: { executionOrder: 'v1' },
		active: false,
	};
}
/** The pack's filter-queue consumer: trigger → Dedupe Leads → Filter Router → Redis Stream Add. */
function pipelineWorkflow(run) {
	const base = consumerWorkflow(run);
	const pack = (name, type, x, parameters, typeVersion = 1) => ({ id: `${key(run)}-${name}`, name, type: `n8n-nodes-lead-pipeline.${type}`, typeVersion, position: [x, 0], parameters, credentials });
	const processes = ['NO_FILTER', 'PSV', 'WEST', 'UNKNOWN', 'UPCOMING'];
	return {
		...base,
		id: `LpBenchPipe${String(run.batch).padStart(4, '0')}c${run.concurrency}`,
		name: `bench pipeline batch ${run.batch} x ${run.concurrency}`,
		nodes: [
			base.nodes[0],
			pack('Dedupe', 'dedupe', 200, {}, 2),
			pack('Router', 'filterRouter', 400, { rules: { rule: [{ process: 'WEST', combine: 'all', conditions: { condition: [{ field: 'destination', operator: 'inList', expected: 'Goa, Kerala' }] } }] }, destinationMap: '{ "Dubai": "PSV" }', defaultProcess: 'UNKNOWN' }),
			pack('Add', 'redisStream', 600, { operation: 'add', stream: `${PIPELINE_NS}:next` }),
		],
		connections: {
			Consume: { main: [[{ node: 'Dedupe', type: 'main', index: 0 }]] },
			Dedupe: { main: [[{ node: 'Router', type: 'main', index: 0 }]] },
			Router: { main: processes.map(() => [{ node: 'Add', type: 'main', index: 0 }]) },
		},
	};
}
/** n8n's own chain as long as the pipeline: trigger → three No-Ops. */
function chainWorkflow(run) {
	const base = consumerWorkflow(run);
	const noOp = (name, x) => ({ id: `${key(run)}-${name}`, name, type: 'n8n-nodes-base.noOp', typeVersion: 1, position: [x, 0], parameters: {} });
	return {
		...base,
		id: `LpBenchChain${String(run.batch).padStart(4, '0')}c${run.concurrency}`,
		name: `bench no-op chain batch ${run.batch} x ${run.concurrency}`,
		nodes: [base.nodes[0], noOp('No-Op 1', 200), noOp('No-Op 2', 400), noOp('No-Op 3', 600)],
		connections: {
			Consume: { main: [[{ node: 'No-Op 1', type: 'main', index: 0 }]] },
			'No-Op 1': { main: [[{ node: 'No-Op 2', type: 'main', index: 0 }]] },
			'No-Op 2': { main: [[{ node: 'No-Op 3', type: 'main', index: 0 }]] },
		},
	};
}
const bareWebhook = {
	id: 'LpBenchFloorHook',
	name: 'bench floor: bare webhook',
	nodes: [
		{ id: 'floor-1', name: 'Webhook', type: 'n8n-nodes-base.webhook', typeVersion: 2.1, position: [0, 0], webhookId: 'floor-w', parameters: { httpMethod: 'POST', path: 'bench-floor', responseMode: 'responseNode', options: {} } },
		{ id: 'floor-2', name: 'Respond', type: 'n8n-nodes-base.respondToWebhook', typeVersion: 1.1, position: [200, 0], parameters: { respondWith: 'json', responseBody: '={{ { "ok": true } }}', options: { responseCode: 202 } } },
	],
	connections: { Webhook: { main: [[{ node: 'Respond', type: 'main', index: 0 }]] } },
	settings: { executionOrder: 'v1' },
	active: false,
};

const rssMb = (pid) => Number(execFileSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' }).trim()) / 1024;

async function floor(n8n, seconds) {
	const result = await load(`${n8n.url}/webhook/bench-floor`, { seconds, concurrency: 16, makeBody: () => PAYLOAD });
	return result;
}

await redis.del(...[...RUNS, ...PIPELINE_RUNS, ...CHAIN_RUNS].flatMap((r) => [stream(r), `${stream(r)}:staging`]));
const url = new URL(REDIS_URL);
const n8n = await N8nInstance.create();
n8n.installPack(packThePack(mkdtempSync(join(tmpdir(), 'lead-pipeline-pack-'))));
n8n.importCredentials([{ id: 'LpRedisBench0001', name: 'Bench Redis', type: 'leadPipelineRedis', data: { connectionType: 'hostPort', host: url.hostname, port: Number(url.port || 6379), password: decodeURIComponent(url.password), database: DB, namespace: PIPELINE_NS, syncQueue: `${PIPELINE_NS}:syncQueue` } }]);
const workflows = [bareWebhook, ...RUNS.map(consumerWorkflow), ...PIPELINE_RUNS.map(pipelineWorkflow), ...CHAIN_RUNS.map(chainWorkflow)];
const workflowsFile = join(n8n.userFolder, 'bench-workflows.json');
writeFileSync(workflowsFile, JSON.stringify(workflows));
n8n.importWorkflow(workflowsFile);
for (const workflow of workflows) n8n.publishWorkflow(workflow.id);
// Production settings for a high-volume queue workflow: don't store every successful run. The
// inspector (random port) is for forced GCs before memory readings; idle, it costs nothing.
const nodeOptions = [process.env.NODE_OPTIONS, '--inspect=127.0.0.1:0'].filter(Boolean).join(' ');
await n8n.start({ env: { EXECUTIONS_DATA_SAVE_ON_SUCCESS: 'none', EXECUTIONS_DATA_SAVE_MANUAL_EXECUTIONS: 'false', DB_SQLITE_POOL_SIZE: process.env.DB_SQLITE_POOL_SIZE ?? '4', NODE_OPTIONS: nodeOptions } });
await n8n.waitForWebhook('bench-floor');
for (const run of [...RUNS, ...PIPELINE_RUNS, ...CHAIN_RUNS]) {
	while (!(await redis.xinfo('GROUPS', stream(run)).then((g) => g.length > 0, () => false))) await sleep(200);
}

try {
	out(`load average before: ${load1()} (2 cores, shared)`);
	await floor(n8n, 3);
	const floorBefore = await floor(n8n, FLOOR_SECONDS);
	out(`n8n floor before: bare Webhook → Respond to Webhook at concurrency 16: ${floorBefore.rate.toFixed(1)} executions/s ${JSON.stringify(floorBefore.statuses)}`);
	const raw = await rawLoop(100_000);
	out(`raw ioredis XREADGROUP COUNT 100 + XACK loop: ${Math.round(raw)} msg/s (100000 messages)`);
	const results = [];
	for (const run of RUNS) {
		const messages = run.batch * Math.max(EXECUTIONS, 2 * run.concurrency);
		const cellFloor = (await floor(n8n, CELL_FLOOR_SECONDS)).rate;
		const r = await timeDrain(run, messages);
		results.push({ run, messages, floor: cellFloor, ...r });
		out(`  batch ${String(run.batch).padStart(4)} × parallel ${run.concurrency}: ${r.execPerS.toFixed(1)} executions/s, ${Math.round(r.msgPerS)} msg/s (${messages} messages, ${r.seconds.toFixed(1)} s); floor just before ${cellFloor.toFixed(1)}/s: ${(100 * r.execPerS / cellFloor).toFixed(0)}%; load ${load1()}`);
	}
	const floorAfter = await floor(n8n, FLOOR_SECONDS);
	out(`n8n floor after: ${floorAfter.rate.toFixed(1)} executions/s ${JSON.stringify(floorAfter.statuses)}`);
	const floorMean = (floorBefore.rate + floorAfter.rate) / 2;
	out(`\nexecutions/s (% of the floor measured just before the cell) | msg/s; mean floor ${floorMean.toFixed(1)}/s; load average now: ${load1()}`);
	out(`batch  | ${PARALLEL.map((p) => `parallel ${p}`.padEnd(24)).join(' | ')}`);
	for (const batch of BATCHES) {
		const cells = PARALLEL.map((p) => {
			const r = results.find((x) => x.run.batch === batch && x.run.concurrency === p);
			return `${r.execPerS.toFixed(1)} (${Math.round((100 * r.execPerS) / r.floor)}%) | ${Math.round(r.msgPerS)}`.padEnd(24);
		});
		out(`${String(batch).padStart(6)} | ${cells.join(' | ')}`);
	}

	const ws = inspectorUrl(n8n.logs);
	if (!ws) throw new Error('no inspector address in the n8n output');
	const inspector = await connectInspector(ws);
	const pid = await inspector.pid();
	if (pid !== n8n.process.pid) throw new Error(`inspector is on pid ${pid}, n8n is ${n8n.process.pid}`);
	const pipelineProfileFile = argText('pipeline-cpu-profile', '');
	const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
	const pipelineSummary = [];
	for (const run of PIPELINE_RUNS) {
		const messages = run.batch * Math.max(Math.round(EXECUTIONS / 4), 10);
		const cellFloor = (await floor(n8n, CELL_FLOOR_SECONDS)).rate;
		const reps = [];
		for (let rep = 1; rep <= PIPELINE_REPEAT; rep++) {
			const noOp = await timeDrain({ batch: run.batch, concurrency: run.concurrency }, messages);
			const chain = await timeDrain({ batch: run.batch, concurrency: run.concurrency, chain: true }, messages);
			const r = await timeDrain(run, messages);
			reps.push({ noOp, chain, r });
			const usPerLead = 1e6 / r.msgPerS - 1e6 / noOp.msgPerS;
			const of = PIPELINE_REPEAT > 1 ? ` (drain ${rep} of ${PIPELINE_REPEAT})` : '';
			out(`pipeline (Dedupe → Filter Router → Add), batch ${run.batch} × ${run.concurrency}${of}: ${r.execPerS.toFixed(1)} executions/s, ${Math.round(r.msgPerS)} msg/s (${messages} new leads); trigger → No-Op just before: ${Math.round(noOp.msgPerS)} msg/s (${Math.round((100 * r.msgPerS) / noOp.msgPerS)}%), trigger → three No-Ops: ${Math.round(chain.msgPerS)} msg/s (${Math.round((100 * r.msgPerS) / chain.msgPerS)}%); floor ${cellFloor.toFixed(1)}/s: ${(100 * r.execPerS / cellFloor).toFixed(0)}%; the pack's cost in n8n ${usPerLead.toFixed(0)} µs/lead; load ${load1()}`);
			out(`  pipeline ${showCpu(r.cpu)}; No-Op ${showCpu(noOp.cpu)}; three No-Ops ${showCpu(chain.cpu)}`);
			out(`  Redis µs per lead by command (pipeline): ${showCommands(r.cpu)}`);
		}
		const total = (c) => c.n8n + c.redis;
		pipelineSummary.push({
			run,
			leadsPerS: median(reps.map((x) => x.r.msgPerS)),
			ofNoOp: median(reps.map((x) => x.r.msgPerS / x.noOp.msgPerS)),
			ofChain: median(reps.map((x) => x.r.msgPerS / x.chain.msgPerS)),
			cpu: median(reps.map((x) => total(x.r.cpu))),
			noOpCpu: median(reps.map((x) => total(x.noOp.cpu))),
			chainCpu: median(reps.map((x) => total(x.chain.cpu))),
			redis: median(reps.map((x) => x.r.cpu.redis)),
		});
		if (pipelineProfileFile && run === PIPELINE_RUNS[0]) {
			const [p, profile] = await inspector.profile(() => timeDrain(run, messages));
			writeFileSync(pipelineProfileFile, JSON.stringify(profile));
			out(`  profiled one more drain of this cell (${Math.round(p.msgPerS)} msg/s under the profiler): ${pipelineProfileFile}`);
			// The same shape with No-Op, to tell the pack's share of GC and native time from n8n's.
			const noOpFile = pipelineProfileFile.replace(/(\.cpuprofile)?$/, '.no-op.cpuprofile');
			const [n, noOpProfile] = await inspector.profile(() => timeDrain({ batch: run.batch, concurrency: run.concurrency }, messages));
			writeFileSync(noOpFile, JSON.stringify(noOpProfile));
			out(`  and trigger → No-Op of the same shape (${Math.round(n.msgPerS)} msg/s under the profiler): ${noOpFile}`);
		}
	}
	if (PIPELINE_REPEAT > 1) {
		out(`\npipeline medians over ${PIPELINE_REPEAT} alternating drains: leads/s | % of trigger → No-Op | % of trigger → three No-Ops | CPU µs per lead, n8n + Redis (of it Redis): pipeline, No-Op, three No-Ops`);
		for (const x of pipelineSummary) {
			out(`  ${x.run.batch} × ${x.run.concurrency}: ${Math.round(x.leadsPerS)} | ${Math.round(100 * x.ofNoOp)}% | ${Math.round(100 * x.ofChain)}% | ${x.cpu.toFixed(0)} (${x.redis.toFixed(0)}), ${x.noOpCpu.toFixed(0)}, ${x.chainCpu.toFixed(0)}`);
		}
	}
	const profileFile = argText('cpu-profile', '');
	if (profileFile) {
		const [r, profile] = await inspector.profile(() => timeDrain(RSS_RUN, 100 * RSS_RUN.batch));
		writeFileSync(profileFile, JSON.stringify(profile));
		out(`\nprofiled ${100 * RSS_RUN.batch} messages at batch ${RSS_RUN.batch} × ${RSS_RUN.concurrency} (${Math.round(r.msgPerS)} msg/s under the profiler): ${profileFile}`);
	}
	if (RSS_MESSAGES > 0) {
		try {
			const noGcBefore = rssMb(pid);
			const gcBefore = await inspector.collectGarbage();
			const before = rssMb(pid);
			const r = await timeDrain(RSS_RUN, RSS_MESSAGES);
			const noGcAfter = rssMb(pid);
			const gcAfter = await inspector.collectGarbage();
			const after = rssMb(pid);
			out(`\nRSS without a forced GC: ${noGcBefore.toFixed(0)} MB before, ${noGcAfter.toFixed(0)} MB after (growth ${(noGcAfter - noGcBefore).toFixed(0)} MB)`);
			out(`${RSS_MESSAGES} messages at batch ${RSS_RUN.batch} × ${RSS_RUN.concurrency}: ${Math.round(r.msgPerS)} msg/s`);
			out(`after forced GC, before: RSS ${before.toFixed(0)} MB, heap used ${gcBefore.heapUsedMb.toFixed(1)} MB (heap total ${gcBefore.heapTotalMb.toFixed(0)} MB)`);
			out(`after forced GC, after:  RSS ${after.toFixed(0)} MB, heap used ${gcAfter.heapUsedMb.toFixed(1)} MB (heap total ${gcAfter.heapTotalMb.toFixed(0)} MB)`);
			out(`growth: RSS ${(after - before).toFixed(0)} MB, heap used ${(gcAfter.heapUsedMb - gcBefore.heapUsedMb).toFixed(1)} MB; load average: ${load1()}`);
		} finally {
			inspector.close();
		}
	} else inspector.close();
} finally {
	await n8n.stop();
	await redis.del(...[...RUNS, ...PIPELINE_RUNS, ...CHAIN_RUNS].flatMap((r) => [stream(r), `${stream(r)}:staging`]));
	let cursor = '0';
	do {
		const [next, keys] = await redis.scan(cursor, 'MATCH', `${PIPELINE_NS}:*`, 'COUNT', 1000);
		if (keys.length) await redis.del(...keys);
		cursor = next;
	} while (cursor !== '0');
	redis.disconnect();
}
