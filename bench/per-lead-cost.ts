// CPU cost of the pack's own code per lead, in-process through n8n-core's engine (the test
// harness), at batch 1000 on real Redis. Prints figures; asserts nothing.
//   node -r ./scripts/ts-register.js bench/per-lead-cost.ts [--batch=1000] [--rounds=10] [--cpu-profile=<file>]
// --cpu-profile: a V8 CPU profile of the measured rounds only (no module loading), for DevTools.
// --heap-profile: a V8 sampling heap profile of the same rounds (who allocates; GC is a large share).
//
// 1. Lead Trigger: one bulk import of `batch` website leads (normalize + one pipelined add-once to
//    the queue stream), against a pipelined XADD of the same messages in the same run (the Redis
//    work no intake can avoid).
// 2. The consumer's workflow: `batch` queued leads → Dedupe Leads → Filter Router (saves the route)
//    → Redis Stream Add (one entry per lead), against the same workflow with No-Op nodes in their
//    places in the same run (the engine's own per-item cost). Per node: n8n's executionTime.
// The pack's cost per lead = (trigger - XADD baseline) + (workflow - No-Op workflow), over `batch`.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { loadavg } from 'node:os';

import Redis from 'ioredis';
import type { IDataObject, INode, IRun } from 'n8n-workflow';

import { callWebhook } from '../scripts/engine-harness/call-webhook';
import { runWorkflow, type WorkflowJson } from '../scripts/engine-harness/run-workflow';
import { redisCredential, redisUrl } from '../scripts/engine-harness/redis';

const profileFile = process.argv.find((a) => a.startsWith('--cpu-profile='))?.split('=')[1];
const heapProfileFile = process.argv.find((a) => a.startsWith('--heap-profile='))?.split('=')[1];
const arg = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const BATCH = arg('batch', 1000);
const ROUNDS = arg('rounds', 10);
const DB = Number(process.env.BENCH_REDIS_DB ?? 13);
const prefix = `bench:perlead:${process.pid}:${randomBytes(3).toString('hex')}:`;
const queue = `${prefix}filterQueue`;
const next = `${prefix}next`;
const SHARED_HEADER_VALUE = randomBytes(16).toString('hex');
const credentials = {
	leadPipelineRedis: { ...redisCredential(), database: DB, namespace: `${prefix}ns`, syncQueue: `${prefix}syncQueue` },
	leadPipelineFormSecretApi: { secret: SHARED_HEADER_VALUE, headerName: 'X-Lead-Signature' },
};
const redisRef = { leadPipelineRedis: { id: 'lp-redis', name: 'Lead Pipeline Redis' } };
const DESTINATIONS = ['Goa', 'Kerala', 'Dubai', 'Paris', 'Atlantis', 'Manali'];
const out = (line: string) => process.stdout.write(`${line}\n`);
const ms = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e6;
/** This process's CPU time (user + system) in ms since `start`: less sensitive to a busy machine than wall time. */
const cpuMs = (start: NodeJS.CpuUsage) => {
	const used = process.cpuUsage(start);
	return (used.user + used.system) / 1000;
};

const leadTrigger: WorkflowJson = {
	id: 'benchPerLeadTrigger',
	nodes: [
		{
			id: 'p0000000-0000-4000-8000-000000000001',
			name: 'Lead Trigger',
			type: 'n8n-nodes-lead-pipeline.leadTrigger',
			typeVersion: 1,
			position: [0, 0],
			webhookId: 'p0000000-0000-4000-8000-0000000000ff',
			parameters: { source: 'website', path: 'leads', defaultCountry: 'IN', stream: queue, enqueueOnly: true, authentication: 'sharedSecret', options: { importBatchSize: BATCH, importMaxRows: BATCH } },
			credentials: { ...redisRef, leadPipelineFormSecretApi: { id: 'lp-form', name: 'Form secret' } },
		},
	],
	connections: {},
};

function node(name: string, type: string, x: number, parameters: INode['parameters'] = {}, typeVersion = 1): INode {
	const packNode = type.startsWith('n8n-nodes-lead-pipeline.');
	return { id: `p-${name}`, name, type, typeVersion, position: [x, 0], parameters, ...(packNode ? { credentials: redisRef } : {}) };
}

const PROCESSES = ['NO_FILTER', 'PSV', 'WEST', 'UNKNOWN', 'UPCOMING'];
/** Start → Dedupe → Filter Router → (every output) → Add; `noOps` puts No-Ops in the pack nodes' places. */
function consumerWorkflow(noOps: boolean): WorkflowJson {
	const routerOutputs = noOps ? ['UNKNOWN'] : PROCESSES;
	const noOp = 'n8n-nodes-base.noOp';
	return {
		id: noOps ? 'benchPerLeadNoOps' : 'benchPerLeadPack',
		nodes: [
			node('Start', 'n8n-nodes-base.manualTrigger', 0),
			noOps ? node('Dedupe', noOp, 200) : node('Dedupe', 'n8n-nodes-lead-pipeline.dedupe', 200, {}, 2),
			noOps
				? node('Router', noOp, 400)
				: node('Router', 'n8n-nodes-lead-pipeline.filterRouter', 400, {
						rules: { rule: [{ process: 'WEST', combine: 'all', conditions: { condition: [{ field: 'destination', operator: 'inList', expected: 'Goa, Kerala' }] } }] },
						destinationMap: '{ "Dubai": "PSV", "Paris": "PSV" }',
						defaultProcess: 'UNKNOWN',
					}),
			noOps ? node('Add', noOp, 600) : node('Add', 'n8n-nodes-lead-pipeline.redisStream', 600, { operation: 'add', stream: next }),
		],
		connections: {
			Start: { main: [[{ node: 'Dedupe', type: 'main', index: 0 }]] },
			// The New output only: duplicates would stop here (none in this bench: every lead is new).
			Dedupe: { main: [[{ node: 'Router', type: 'main', index: 0 }]] },
			Router: { main: routerOutputs.map(() => [{ node: 'Add', type: 'main', index: 0 }]) },
		},
		settings: { executionOrder: 'v1' },
	};
}

let leadNo = 0;
function websiteLead(): IDataObject {
	const i = leadNo++;
	return { name: `Bench Lead ${i}`, phone: `+91 9${String(800_000_000 + i).padStart(9, '0')}`, email: `lead${i}.${prefix.length}@example.com`, destination: DESTINATIONS[i % DESTINATIONS.length], utm_source: 'bench' };
}

/** One bulk import of BATCH leads through the Lead Trigger; returns ms and the queued entry ids. */
async function intakeRound(round: number): Promise<Timing> {
	const body = JSON.stringify({ importId: `${prefix}import-${round}`, leads: Array.from({ length: BATCH }, websiteLead) });
	const started = process.hrtime.bigint();
	const cpu = process.cpuUsage();
	const result = await callWebhook(leadTrigger, { method: 'POST', headers: { 'content-type': 'application/json', 'x-lead-signature': SHARED_HEADER_VALUE }, body }, { credentials });
	const elapsed = { wall: ms(started), cpu: cpuMs(cpu) };
	const status = result.json as { successful?: number } | undefined;
	if (result.status !== 200 || status?.successful !== BATCH) throw new Error(`bulk import: ${result.status} ${result.text.slice(0, 500)}`);
	return elapsed;
}

/** The same messages as one pipelined XADD (what the Redis side of an intake costs at least). */
async function xaddRound(redis: Redis, messages: string[]): Promise<Timing> {
	const started = process.hrtime.bigint();
	const cpu = process.cpuUsage();
	const pipeline = redis.pipeline();
	for (const message of messages) pipeline.xadd(`${prefix}raw`, '*', 'message', message);
	await pipeline.exec();
	return { wall: ms(started), cpu: cpuMs(cpu) };
}

/** The next BATCH queued entries as the consumer trigger emits them. */
async function consumed(redis: Redis, after: string): Promise<{ items: IDataObject[]; last: string }> {
	const entries = await redis.xrange(queue, `(${after}`, '+', 'COUNT', BATCH);
	const items = entries.map(([id, fields]) => ({ id, stream: queue, deliveryCount: 1, message: JSON.parse(fields[1]) }));
	return { items, last: entries[entries.length - 1][0] };
}

function nodeTimes(run: IRun): Record<string, number> {
	if (run.data.resultData.error) throw new Error(`workflow failed: ${run.data.resultData.error.message}`);
	const times: Record<string, number> = {};
	for (const [name, tasks] of Object.entries(run.data.resultData.runData)) {
		for (const task of tasks) {
			if (task.error) throw new Error(`${name} failed: ${task.error.message}`);
			times[name] = (times[name] ?? 0) + task.executionTime;
		}
	}
	return times;
}

async function workflowRound(noOps: boolean, items: IDataObject[]) {
	const started = process.hrtime.bigint();
	const cpu = process.cpuUsage();
	const run = await runWorkflow(consumerWorkflow(noOps), { input: items, credentials, mode: 'trigger' });
	return { total: { wall: ms(started), cpu: cpuMs(cpu) }, nodes: nodeTimes(run) };
}

async function cleanUp(redis: Redis) {
	let cursor = '0';
	do {
		const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', `*${prefix}*`, 'COUNT', 1000);
		if (keys.length) await redis.del(...keys);
		cursor = nextCursor;
	} while (cursor !== '0');
}

interface Timing {
	wall: number;
	cpu: number;
}
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const perLead = (msTotal: number) => (1000 * msTotal) / BATCH;
/** Median wall and CPU time per lead in µs, and the best round's (least disturbed by a busy machine). */
const perLeadOf = (timings: Timing[]) => ({
	wall: perLead(median(timings.map((t) => t.wall))),
	cpu: perLead(median(timings.map((t) => t.cpu))),
	bestWall: perLead(Math.min(...timings.map((t) => t.wall))),
	bestCpu: perLead(Math.min(...timings.map((t) => t.cpu))),
});
const show = (t: Timing & { bestWall?: number; bestCpu?: number }) =>
	`${t.wall.toFixed(1)} µs/lead wall, ${t.cpu.toFixed(1)} µs CPU${t.bestWall === undefined ? '' : ` (best round ${t.bestWall.toFixed(1)} wall, ${t.bestCpu!.toFixed(1)} CPU)`}`;

async function main() {
	const redis = new Redis(redisUrl(), { db: DB });
	out(`batch ${BATCH}, ${ROUNDS} measured rounds (+2 warm-up), medians; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')} (2 cores, shared)`);
	const rows = { intake: [] as Timing[], xadd: [] as Timing[], pack: [] as Timing[], noOps: [] as Timing[], nodes: {} as Record<string, number[]>, noOpNodes: {} as Record<string, number[]> };
	try {
		let cursor = '0-0';
		const session = new Session();
		for (let round = 0; round < ROUNDS + 2; round++) {
			if (round === 2 && (profileFile || heapProfileFile)) session.connect();
			if (round === 2 && profileFile) {
				await session.post('Profiler.enable');
				await session.post('Profiler.start');
			}
			if (round === 2 && heapProfileFile) {
				await session.post('HeapProfiler.enable');
				// Every object kept in the profile, even those collected since: allocation, not retention.
				await session.post('HeapProfiler.startSampling', { samplingInterval: 4096, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
			}
			const intake = await intakeRound(round);
			const { items, last } = await consumed(redis, cursor);
			cursor = last;
			const xadd = await xaddRound(redis, items.map((i) => JSON.stringify(i.message)));
			// Alternate which goes first, so neither always runs on a warmer (or busier) moment.
			let packRun, noOps;
			if (round % 2) {
				packRun = await workflowRound(false, items);
				noOps = await workflowRound(true, items);
			} else {
				noOps = await workflowRound(true, items);
				packRun = await workflowRound(false, items);
			}
			if (round < 2) continue;
			rows.intake.push(intake);
			rows.xadd.push(xadd);
			rows.pack.push(packRun.total);
			rows.noOps.push(noOps.total);
			for (const [name, t] of Object.entries(packRun.nodes)) (rows.nodes[name] ??= []).push(t);
			for (const [name, t] of Object.entries(noOps.nodes)) (rows.noOpNodes[name] ??= []).push(t);
		}
		if (profileFile) writeFileSync(profileFile, JSON.stringify((await session.post('Profiler.stop')).profile));
		if (heapProfileFile) writeFileSync(heapProfileFile, JSON.stringify((await session.post('HeapProfiler.stopSampling')).profile));
		if (profileFile || heapProfileFile) session.disconnect();
		const intake = perLeadOf(rows.intake);
		const xadd = perLeadOf(rows.xadd);
		const pack = perLeadOf(rows.pack);
		const noOps = perLeadOf(rows.noOps);
		const minus = (a: ReturnType<typeof perLeadOf>, b: ReturnType<typeof perLeadOf>) => ({ wall: a.wall - b.wall, cpu: a.cpu - b.cpu, bestWall: a.bestWall - b.bestWall, bestCpu: a.bestCpu - b.bestCpu });
		out(`Lead Trigger bulk import (normalize + add-once): ${show(intake)}; same messages as one pipelined XADD: ${show(xadd)}; trigger's own: ${show(minus(intake, xadd))}`);
		out(`Dedupe → Filter Router → Redis Stream Add: ${show(pack)}; same workflow with No-Ops: ${show(noOps)}; pack's own: ${show(minus(pack, noOps))}`);
		for (const name of ['Dedupe', 'Router', 'Add']) {
			out(`  ${name.padEnd(6)} ${perLead(median(rows.nodes[name])).toFixed(1)} µs/lead wall (No-Op in its place: ${perLead(median(rows.noOpNodes[name])).toFixed(1)} µs/lead)`);
		}
		const total = minus(intake, xadd);
		const own = minus(pack, noOps);
		out(`pack's own cost per lead, trigger + Dedupe + Filter Router + Add: ${show({ wall: total.wall + own.wall, cpu: total.cpu + own.cpu, bestWall: total.bestWall + own.bestWall, bestCpu: total.bestCpu + own.bestCpu })} (target ≤ 50 µs); load average now ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
	} finally {
		await cleanUp(redis);
		redis.disconnect();
	}
}

main().then(
	() => process.exit(0),
	(error) => {
		process.stderr.write(`${(error as Error).stack}\n`);
		process.exit(1);
	},
);
