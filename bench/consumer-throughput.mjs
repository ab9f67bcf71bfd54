// Messages/s through the Redis Stream Consumer trigger in real n8n (trigger → No-Op) with batch
// sizes 1, 10, 100, against a raw ioredis XREADGROUP + XACK loop measured in the same run; then
// the n8n process's RSS before and after a long run. Prints figures; asserts nothing.
//   node bench/consumer-throughput.mjs [--messages-1=500] [--messages-10=5000] [--messages-100=50000]
//     [--messages-1000=200000] [--rss-messages=1000000]
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';

import Redis from 'ioredis';

import { N8nInstance, packThePack } from '../scripts/n8n-rig.mjs';

const arg = (name, fallback) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const DB = Number(process.env.BENCH_REDIS_DB ?? 14);
const RUNS = [
	{ batch: 1, concurrency: 1, messages: arg('messages-1', 500) },
	{ batch: 10, concurrency: 1, messages: arg('messages-10', 5_000) },
	{ batch: 100, concurrency: 1, messages: arg('messages-100', 50_000) },
	{ batch: 100, concurrency: 8, messages: arg('messages-100', 50_000) },
	{ batch: 1000, concurrency: 4, messages: arg('messages-1000', 200_000) },
];
const key = (r) => `b${r.batch}c${r.concurrency}`;
const RSS_MESSAGES = arg('rss-messages', 1_000_000);
const PAYLOAD = JSON.stringify({ source: 'WEBSITE', traceId: '01JD0000000000000000000000', leadData: { name: 'Asha Rao', phone: '+919845098450', email: 'asha@example.com', destination: 'Goa' } });

const redis = new Redis(REDIS_URL, { db: DB });
const out = (line) => process.stdout.write(`${line}\n`);

async function fill(stream, count) {
	for (let sent = 0; sent < count; sent += 1000) {
		const pipeline = redis.pipeline();
		for (let i = sent; i < Math.min(count, sent + 1000); i++) pipeline.xadd(stream, '*', 'message', PAYLOAD);
		await pipeline.exec();
	}
}

async function drained(stream, group) {
	const groups = await redis.xinfo('GROUPS', stream).catch(() => []);
	const g = groups.map((row) => Object.fromEntries(row.reduce((acc, v, i, all) => (i % 2 ? acc : [...acc, [v, all[i + 1]]]), []))).find((x) => x.name === group);
	return g && Number(g.lag) === 0 && Number(g.pending) === 0;
}

async function timeDrain(stream, group, count) {
	const started = process.hrtime.bigint();
	await fill(stream, count);
	while (!(await drained(stream, group))) await new Promise((r) => setTimeout(r, 20));
	const seconds = Number(process.hrtime.bigint() - started) / 1e9;
	return count / seconds;
}

async function rawLoop(count) {
	const stream = 'bench:raw';
	await redis.del(stream);
	await redis.xgroup('CREATE', stream, 'g', '0', 'MKSTREAM');
	const reader = new Redis(REDIS_URL, { db: DB });
	const started = process.hrtime.bigint();
	const filling = fill(stream, count);
	let done = 0;
	while (done < count) {
		const reply = await reader.xreadgroup('GROUP', 'g', 'c', 'COUNT', 100, 'BLOCK', 1000, 'STREAMS', stream, '>');
		const entries = reply?.[0]?.[1] ?? [];
		for (const [, fields] of entries) JSON.parse(fields[1]);
		if (entries.length) await reader.xack(stream, 'g', ...entries.map(([id]) => id));
		done += entries.length;
	}
	await filling;
	const rate = count / (Number(process.hrtime.bigint() - started) / 1e9);
	reader.disconnect();
	await redis.del(stream);
	return rate;
}

function workflow({ batch, concurrency }) {
	const credentials = { leadPipelineRedis: { id: 'LpRedisBench0001', name: 'Bench Redis' } };
	return {
		id: `LpBench${String(batch).padStart(4, '0')}c${String(concurrency).padStart(3, '0')}`,
		name: `bench batch ${batch} × ${concurrency}`,
		nodes: [
			{ id: `b${batch}-${concurrency}-1`, name: 'Consume', type: 'n8n-nodes-lead-pipeline.redisStreamConsumerTrigger', typeVersion: 1, position: [0, 0], parameters: { stream: `bench:b${batch}c${concurrency}`, group: 'g', batchSize: batch, concurrency, options: { startId: '0', blockMs: 1000 } }, credentials },
			{ id: `b${batch}-${concurrency}-2`, name: 'No Operation', type: 'n8n-nodes-base.noOp', typeVersion: 1, position: [200, 0], parameters: {} },
		],
		connections: { Consume: { main: [[{ node: 'No Operation', type: 'main', index: 0 }]] } },
		settings: { executionOrder: 'v1' },
		active: false,
	};
}

const rssMb = (pid) => Number(execFileSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' }).trim()) / 1024;

await redis.del(...RUNS.map((r) => `bench:${key(r)}`));
const url = new URL(REDIS_URL);
const n8n = await N8nInstance.create();
n8n.installPack(packThePack(mkdtempSync(join(tmpdir(), 'lead-pipeline-pack-'))));
n8n.importCredentials([{ id: 'LpRedisBench0001', name: 'Bench Redis', type: 'leadPipelineRedis', data: { connectionType: 'hostPort', host: url.hostname, port: Number(url.port || 6379), password: decodeURIComponent(url.password), database: DB } }]);
for (const run of RUNS) {
	const file = join(n8n.userFolder, `bench-${key(run)}.json`);
	writeFileSync(file, JSON.stringify(workflow(run)));
	n8n.importWorkflow(file);
	n8n.publishWorkflow(workflow(run).id);
}
// Production settings for a high-volume queue workflow: don't store every successful run.
await n8n.start({ env: { EXECUTIONS_DATA_SAVE_ON_SUCCESS: 'none', EXECUTIONS_DATA_SAVE_MANUAL_EXECUTIONS: 'false', DB_SQLITE_POOL_SIZE: process.env.DB_SQLITE_POOL_SIZE ?? '4' } });
for (const run of RUNS) {
	while (!(await redis.xinfo('GROUPS', `bench:${key(run)}`).then((g) => g.length > 0, () => false))) await new Promise((r) => setTimeout(r, 200));
}

try {
	const raw = await rawLoop(RUNS[4].messages);
	out(`raw ioredis XREADGROUP COUNT 100 + XACK loop: ${Math.round(raw)} msg/s (${RUNS[4].messages} messages)`);
	for (const run of RUNS) {
		const rate = await timeDrain(`bench:${key(run)}`, 'g', run.messages);
		out(`n8n trigger → No-Op, batch ${String(run.batch).padStart(4)}, parallel ${run.concurrency}: ${Math.round(rate)} msg/s (${run.messages} messages) = ${(100 * rate / raw).toFixed(1)}% of raw`);
	}
	const before = rssMb(n8n.process.pid);
	await timeDrain('bench:b1000c4', 'g', RSS_MESSAGES);
	const after = rssMb(n8n.process.pid);
	out(`n8n RSS before ${before.toFixed(0)} MB, after ${RSS_MESSAGES} more messages at batch 1000 × 4: ${after.toFixed(0)} MB (growth ${(after - before).toFixed(0)} MB)`);
} finally {
	await n8n.stop();
	await redis.del(...RUNS.map((r) => `bench:${key(r)}`));
	redis.disconnect();
}
