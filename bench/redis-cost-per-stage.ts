// Where the filter-queue workflow's Redis time goes, stage by stage, through the same shared
// modules the nodes call (no n8n): the Redis server's CPU (INFO cpu), its per-command time
// (INFO commandstats, commands run inside scripts included), and this client's CPU and wall time
// per lead, at batch 1000 of unique leads with phone, email and name + destination. The stream
// fill is shown as the baseline: a pipelined XADD per lead, the least any queue write costs.
// Prints figures; asserts nothing. To compare two versions, run it on each checkout in turn.
//   node -r ./scripts/ts-register.js bench/redis-cost-per-stage.ts [--rounds=10]
import { randomBytes } from 'node:crypto';

import Redis from 'ioredis';

import { recordDecisions } from '../nodes/shared/metrics/recorder';
import type { CheckInput, Verdict } from '../nodes/shared/store/contract';
import { RedisLeadStore } from '../nodes/shared/store/redisStore';
import { addEntries } from '../nodes/shared/queue/streams';
import { deletePrefix, redisUrl } from '../scripts/engine-harness/redis';

const arg = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const ROUNDS = arg('rounds', 10);
const BATCH = 1000;
const DB = Number(process.env.BENCH_REDIS_DB ?? 12);
const DESTINATIONS = ['Goa', 'Kerala', 'Dubai', 'Paris'];

// As the nodes' shared connection is configured (nodes/shared/queue/redis.ts).
const redis = new Redis(redisUrl(), { db: DB, enableAutoPipelining: true });
const store = new RedisLeadStore(redis);
const ns = `bench:stages:${randomBytes(3).toString('hex')}`;

async function serverCpuUs(): Promise<number> {
	const info = await redis.info('cpu');
	return (Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1])) * 1e6;
}

async function commandUs(): Promise<Map<string, { calls: number; usec: number }>> {
	const stats = new Map<string, { calls: number; usec: number }>();
	for (const m of (await redis.info('commandstats')).matchAll(/cmdstat_([\w|]+):calls=(\d+),usec=(\d+)/g)) stats.set(m[1], { calls: Number(m[2]), usec: Number(m[3]) });
	return stats;
}

interface StageTotal {
	redis: number;
	client: number;
	wall: number;
	commands: Map<string, { calls: number; usec: number }>;
}
const totals = new Map<string, StageTotal>();

async function stage(name: string, measured: boolean, work: () => Promise<unknown>): Promise<void> {
	const commandsBefore = await commandUs();
	const redisBefore = await serverCpuUs();
	const clientBefore = process.cpuUsage();
	const start = process.hrtime.bigint();
	await work();
	const wall = Number(process.hrtime.bigint() - start) / 1e3;
	const client = process.cpuUsage(clientBefore);
	const redisUsed = (await serverCpuUs()) - redisBefore;
	const commandsAfter = await commandUs();
	if (!measured) return;
	const t = totals.get(name) ?? { redis: 0, client: 0, wall: 0, commands: new Map() };
	t.redis += redisUsed;
	t.client += client.user + client.system;
	t.wall += wall;
	for (const [command, after] of commandsAfter) {
		const before = commandsBefore.get(command) ?? { calls: 0, usec: 0 };
		if (after.calls === before.calls || command === 'info') continue;
		const c = t.commands.get(command) ?? { calls: 0, usec: 0 };
		c.calls += after.calls - before.calls;
		c.usec += after.usec - before.usec;
		t.commands.set(command, c);
	}
	totals.set(name, t);
}

function leadsOf(round: number): CheckInput[] {
	return Array.from({ length: BATCH }, (_, k) => {
		const i = round * BATCH + k;
		const phone = `+9199${10_000_000 + i}`;
		const lead = { channel: 'WEBSITE' as const, phone, email: `p${i}@example.com`, name: `P ${i}`, destination: DESTINATIONS[i % 4] };
		return { traceId: `tr_${randomBytes(8).toString('hex')}`, namespace: ns, windowSeconds: 7 * 86_400, keys: { phone, email: lead.email, nameDestination: `p ${i}|${lead.destination.toLowerCase()}` }, lead };
	});
}

async function round(r: number): Promise<void> {
	const measured = r > 0;
	const leads = leadsOf(r);
	const queue = `${ns}:filterQueue`;
	// A plain pipelined XADD per lead (not addEntries, which runs its XADDs in scripts): a fixed yardstick.
	await stage('stream fill (XADD, baseline)', measured, () => {
		const pipeline = redis.pipeline();
		for (const l of leads) pipeline.xadd(queue, '*', 'message', JSON.stringify({ traceId: l.traceId, lead: l.lead }));
		return pipeline.exec();
	});
	let ids: string[] = [];
	await stage('trigger: XREADGROUP', measured, async () => {
		const reply = (await redis.xreadgroup('GROUP', 'g', 'c', 'COUNT', BATCH, 'STREAMS', queue, '>')) as Array<[string, Array<[string, string[]]>]>;
		ids = reply[0][1].map(([id]) => id);
	});
	let verdicts: Verdict[] = [];
	await stage('Dedupe: check and record', measured, async () => (verdicts = await store.checkAndRecordMany(leads)));
	await stage('Dedupe: metrics', measured, () => recordDecisions(redis, { namespace: ns }, leads.map((l) => ({ traceId: l.traceId, counter: 'new' }))));
	const originals = verdicts.flatMap((v) => (v.duplicate ? [] : [v]));
	await stage('Router: save routes', measured, () => store.setFiltrationMany(ns, originals.map((v) => ({ opportunityId: v.opportunityId, input: { by: 'Filter Router', traceId: v.traceId, process: 'WEST', stage: 'NEW' } }))));
	await stage('Router: active opportunities', measured, () => store.addActiveOpportunities(ns, originals.map((v) => ({ leadId: v.leadId, opportunityId: v.opportunityId, process: 'WEST' }))));
	await stage('Router: metrics', measured, () => recordDecisions(redis, { namespace: ns }, originals.map((v) => ({ traceId: v.traceId, counter: 'routed', labels: { process: 'WEST' } }))));
	await stage('Add: XADD', measured, () => addEntries(redis, leads.map((l) => ({ stream: `${ns}:next`, message: { ...l.lead, traceId: l.traceId, opportunityId: `opp_${l.traceId}`, filtrationProcess: 'WEST' } }))));
	await stage('trigger: XACK', measured, () => redis.multi().xack(queue, 'g', ...ids).hdel(`${queue}:g:lastError`, ...ids).exec());
}

async function main(): Promise<void> {
	await redis.xgroup('CREATE', `${ns}:filterQueue`, 'g', '0', 'MKSTREAM');
	for (let r = 0; r <= ROUNDS; r++) await round(r);
	const perLead = (us: number) => (us / (BATCH * ROUNDS)).toFixed(1).padStart(6);
	process.stdout.write(`batch ${BATCH}, ${ROUNDS} rounds after a warm-up; µs per lead: Redis server CPU | client CPU | client wall | commands (calls per batch, Redis µs per lead)\n`);
	const sum = { redis: 0, client: 0, wall: 0 };
	for (const [name, t] of totals) {
		const commands = [...t.commands].map(([c, v]) => `${c} ${Math.round(v.calls / ROUNDS)}× ${(v.usec / (BATCH * ROUNDS)).toFixed(1)}`).join(', ');
		process.stdout.write(`${name.padEnd(30)} ${perLead(t.redis)} | ${perLead(t.client)} | ${perLead(t.wall)} | ${commands}\n`);
		if (!name.includes('baseline')) {
			sum.redis += t.redis;
			sum.client += t.client;
			sum.wall += t.wall;
		}
	}
	const fill = totals.get('stream fill (XADD, baseline)')!;
	process.stdout.write(`${'workflow, fill excluded'.padEnd(30)} ${perLead(sum.redis)} | ${perLead(sum.client)} | ${perLead(sum.wall)} | Redis ${(sum.redis / fill.redis).toFixed(1)}× the baseline XADD\n`);
}

main()
	.catch((error) => {
		process.stderr.write(`${(error as Error).stack}\n`);
		process.exitCode = 1;
	})
	.finally(async () => {
		await deletePrefix(redis, ns);
		redis.disconnect();
	});
