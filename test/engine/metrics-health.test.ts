import type Redis from 'ioredis';

import { queueHealth } from '../../nodes/shared/metrics/queueHealth';
import { setPaused } from '../../nodes/shared/queue/pause';
import { dlqStreamName } from '../../nodes/shared/queue/streamGroup';
import { deletePrefix, testRedis, uniquePrefix } from '../support/redis';
import { addJson } from '../support/streams';

const prefix = uniquePrefix('metrics-health');
let redis: Redis;

beforeAll(() => {
	redis = testRedis();
});
afterAll(async () => {
	await deletePrefix(redis, prefix);
	redis.disconnect();
});

async function redisNowMs(): Promise<number> {
	const [s, us] = await redis.time();
	return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

describe('queueHealth', () => {
	test('numbers of a prepared queue: pending per consumer, lag, oldest pending, last-minute intake, DLQ, pause, red state', async () => {
		const busy = { stream: `${prefix}busy`, group: 'workers' };
		const quiet = { stream: `${prefix}quiet`, group: 'workers' };
		const broken = { stream: `${prefix}broken`, group: 'workers' };
		const tenMinutesAgo = (await redisNowMs()) - 600_000;
		// Three entries added ten minutes ago (explicit ids), four just now.
		for (let i = 0; i < 3; i++) await redis.xadd(busy.stream, `${tenMinutesAgo}-${i}`, 'message', JSON.stringify({ old: i }));
		await addJson(redis, busy.stream, [{ n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }]);
		await redis.xgroup('CREATE', busy.stream, busy.group, '0');
		await redis.xreadgroup('GROUP', busy.group, 'c1', 'COUNT', 2, 'STREAMS', busy.stream, '>');
		await redis.xreadgroup('GROUP', busy.group, 'c2', 'COUNT', 1, 'STREAMS', busy.stream, '>');
		const dlq = dlqStreamName(busy.stream, busy.group);
		await addJson(redis, dlq, [{ dead: 1 }, { dead: 2 }]);
		await setPaused(redis, busy.stream, busy.group, true, 'ops');

		await addJson(redis, quiet.stream, [{ n: 1 }]);
		await redis.xgroup('CREATE', quiet.stream, quiet.group, '$');

		await redis.set(broken.stream, 'not a stream');

		const report = await queueHealth(redis, { queues: [busy, quiet, broken], thresholds: { dlqSize: 1, pending: 10, queueLength: 100, oldestPendingSeconds: 300 } });
		const [b, q, x] = report.queues;
		expect(b).toMatchObject({
			stream: busy.stream,
			group: busy.group,
			length: 7,
			pending: 3,
			inFlight: 3,
			lag: 4,
			queueLength: 7,
			consumers: 2,
			dlqStream: dlq,
			dlqSize: 2,
			paused: true,
			pausedBy: 'ops',
			throughput: { windowMs: 60_000, added: 4, capped: false, cap: 10_000 },
			alerts: { backlog: false, dlq: true, pending: false, oldestPending: true },
			state: 'red',
		});
		expect(b.consumerDetails.map((c) => [c.name, c.pending])).toEqual([['c1', 2], ['c2', 1]]);
		expect(b.oldestPending).toMatchObject({ id: `${tenMinutesAgo}-0`, consumer: 'c1', deliveries: 1 });
		expect(b.oldestPending!.ageMs).toBeGreaterThanOrEqual(600_000);
		expect(b.oldestPending!.ageMs).toBeLessThan(620_000);
		expect(b.dlqOldestAgeMs).toBeLessThan(20_000);

		expect(q).toMatchObject({ length: 1, pending: 0, lag: 0, paused: false, oldestPending: null, dlqSize: 0, dlqOldestAgeMs: null, throughput: { added: 1 }, state: 'ok' });
		expect(q.alerts).toEqual({ backlog: false, dlq: false, pending: false, dlqNearCap: false, oldestPending: false });

		expect(x).toMatchObject({ stream: broken.stream, state: 'red', error: expect.stringMatching(/WRONGTYPE/) });
		expect(report.alerting).toBe(true);
		expect(Math.abs(Date.parse(report.at) - Date.now())).toBeLessThan(60_000);
	});

	test('the last-minute count stops at the cap and says it is a lower bound; a missing stream and group read as empty', async () => {
		const ref = { stream: `${prefix}burst`, group: 'g' };
		await addJson(redis, ref.stream, [1, 2, 3, 4, 5].map((n) => ({ n })));
		const [capped] = (await queueHealth(redis, { queues: [ref], cap: 3 })).queues;
		expect(capped.throughput).toEqual({ windowMs: 60_000, added: 3, capped: true, cap: 3 });
		expect(capped).toMatchObject({ groupExists: false, lag: 5, consumers: 0, consumerDetails: [], oldestPending: null });

		const [missing] = (await queueHealth(redis, { queues: [{ stream: `${prefix}nothing`, group: 'g' }] })).queues;
		expect(missing).toMatchObject({ exists: false, length: 0, throughput: { added: 0 }, state: 'ok' });
		expect(missing.error).toBeUndefined();
	});
});
