import type { ChildProcess } from 'node:child_process';

import Redis from 'ioredis';

import { queueHealth } from '../../nodes/shared/metrics/queueHealth';
import { startRedisServer } from '../support/redis-server';
import { addJson } from '../support/streams';

// Issue 25 item 9: every dashboard refresh counted "added in the last minute" with an XRANGE over
// up to 10,000 entries per queue (247 ms of Redis per refresh at volume). Now it samples XINFO
// STREAM's entries-added (Redis 7) per refresh and keeps the samples beside the stream: O(1) per
// queue. A redis-server of this test's own, so its command statistics count only this reader.
let server: { url: string; process: ChildProcess };
let redis: Redis;

beforeAll(async () => {
	server = await startRedisServer();
	redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
});
afterAll(() => {
	redis.disconnect();
	server.process.kill('SIGKILL');
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** calls of each command since the last CONFIG RESETSTAT (commands run by scripts included). */
async function commandCalls(): Promise<Record<string, number>> {
	const info = await redis.info('commandstats');
	return Object.fromEntries([...info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)].map((m) => [m[1], Number(m[2])]));
}

async function redisNowMs(): Promise<number> {
	const [s, us] = await redis.time();
	return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

describe('queueHealth › added in the last window from entries-added samples', () => {
	test('after the first read of a queue, refreshes never range over the queue (no XRANGE of it) and still count what was added within the window', async () => {
		const ref = { stream: 'intake:filterQueue', group: 'workers' };
		const windowMs = 2_000;
		const tenMinutesAgo = (await redisNowMs()) - 600_000;
		for (let i = 0; i < 3; i++) await redis.xadd(ref.stream, `${tenMinutesAgo}-${i}`, 'message', '{}');
		await addJson(redis, ref.stream, [1, 2, 3, 4].map((n) => ({ n })));
		const read = async () => (await queueHealth(redis, { queues: [ref], windowMs })).queues[0].throughput;

		expect(await read()).toMatchObject({ added: 4, capped: false }); // the first read counts once
		// Every command Redis runs from here on (those inside scripts included), with its arguments.
		const seen: string[][] = [];
		const monitor = await redis.monitor();
		monitor.on('monitor', (_time: string, args: string[]) => seen.push(args));
		await redis.config('RESETSTAT');
		await addJson(redis, ref.stream, [5, 6, 7, 8, 9].map((n) => ({ n })));
		expect((await read()).added).toBe(9);
		await sleep(windowMs + 300);
		expect((await read()).added).toBe(0);
		await addJson(redis, ref.stream, [10, 11].map((n) => ({ n })));
		expect((await read()).added).toBe(2);
		for (let i = 0; i < 20; i++) await read(); // a dashboard refreshing
		expect((await read()).added).toBe(2);

		const calls = await commandCalls();
		monitor.disconnect();
		const reads = seen.filter(([command]) => /^x(range|revrange|read)$/i.test(command));
		// The one entry range left is the DLQ's oldest entry (its age), one entry: the queue itself is never ranged.
		expect(reads.filter(([, key]) => key === ref.stream)).toEqual([]);
		expect(reads.every((args) => args[1] !== ref.stream && args.slice(-2).join(' ').toUpperCase() === 'COUNT 1')).toBe(true);
		expect(calls.xrange ?? 0).toBe(24); // = reads since RESETSTAT: one DLQ head each
		expect(calls.xrevrange ?? 0).toBe(0);
		expect(calls.xread ?? 0).toBe(0);
		// What it keeps stays small however often it is read.
		expect(await redis.zcard(`${ref.stream}:addedSamples`)).toBeLessThan(40);
		expect(await redis.pttl(`${ref.stream}:addedSamples`)).toBeGreaterThan(0);
	});

	test('a stream deleted and created again starts counting afresh (entries-added went down)', async () => {
		const ref = { stream: 'intake:recreated', group: 'workers' };
		await addJson(redis, ref.stream, [1, 2, 3, 4, 5].map((n) => ({ n })));
		const read = async () => (await queueHealth(redis, { queues: [ref], windowMs: 60_000 })).queues[0].throughput;
		expect((await read()).added).toBe(5);
		await redis.del(ref.stream);
		await addJson(redis, ref.stream, [{ n: 1 }]);
		expect((await read()).added).toBe(1);
	});
});
