// Per-lead dedupe time with 10k vs 1M leads already recorded, and leads/s for batches of 100
// (one pipelined round trip) vs one lead per round trip, on real Redis. Prints figures only.
//   node -r ./scripts/ts-register.js bench/dedupe.ts [--big=1000000]
import Redis from 'ioredis';

import { dedupeKeysOf, type CheckInput } from '../nodes/shared/store/contract';
import { RedisLeadStore } from '../nodes/shared/store/redisStore';
import { newTraceId } from '../nodes/shared/lead/trace';

const arg = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const BIG = arg('big', 1_000_000);
const DB = Number(process.env.BENCH_REDIS_DB ?? 15);
const all = { phone: true, email: true, nameDestination: true };

function lead(ns: string, i: number): CheckInput {
	const l = { channel: 'WEBSITE' as const, phone: `+1${String(2_000_000_000 + i)}`, email: `lead${i}@example.com`, name: `Lead ${i}`, destination: 'Goa' };
	return { traceId: newTraceId(), namespace: ns, keys: dedupeKeysOf(l, all), windowSeconds: 30 * 86_400, lead: l };
}

async function fill(store: RedisLeadStore, ns: string, count: number) {
	for (let i = 0; i < count; i += 1000) {
		await store.checkAndRecordMany(Array.from({ length: Math.min(1000, count - i) }, (_, j) => lead(ns, i + j)));
	}
}

/** Microseconds per lead for `count` new leads checked in batches of `batch`. */
async function measure(store: RedisLeadStore, ns: string, from: number, count: number, batch: number) {
	const started = process.hrtime.bigint();
	for (let i = 0; i < count; i += batch) {
		await store.checkAndRecordMany(Array.from({ length: batch }, (_, j) => lead(ns, from + i + j)));
	}
	return Number(process.hrtime.bigint() - started) / 1e3 / count;
}

async function main() {
	const redis = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', { db: DB });
	await redis.flushdb();
	const store = new RedisLeadStore(redis);
	const out = (line: string) => process.stdout.write(`${line}\n`);
	try {
		await fill(store, 'small', 10_000);
		const small = await measure(store, 'small', 10_000, 20_000, 100);
		await fill(store, 'big', BIG);
		const big = await measure(store, 'big', BIG, 20_000, 100);
		out(`per-lead dedupe, batch 100: ${small.toFixed(1)} µs with 10k recorded, ${big.toFixed(1)} µs with ${BIG} recorded: ratio ${(big / small).toFixed(2)}`);
		const single = await measure(store, 'small', 100_000, 5_000, 1);
		out(`leads/s: batch of 100 (pipelined) ${Math.round(1e6 / small)}, one per round trip ${Math.round(1e6 / single)}: ${(single / small).toFixed(1)}x`);
	} finally {
		await redis.flushdb();
		redis.disconnect();
	}
}

void main();
