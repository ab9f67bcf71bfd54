import type Redis from 'ioredis';

import { queueInfo } from '../../nodes/shared/queue/streamAdmin';
import { appendWithinCap, moveToDeadLetters } from '../../nodes/shared/queue/streams';
import { deletePrefix, testRedis, uniquePrefix } from '../support/redis';
import { addJson, pendingCount, readMessages } from '../support/streams';

// Issue 9 item 14: streams no group reads (DLQ, rejected leads) get a cap that refuses, never trims.
const prefix = uniquePrefix('capped');
let redis: Redis;

beforeAll(() => {
	redis = testRedis();
});
afterAll(async () => {
	await deletePrefix(redis, prefix);
	redis.disconnect();
});

describe('caps on streams no group reads', () => {
	test('appendWithinCap refuses over the cap and deletes nothing; near-cap is flagged from 90%', async () => {
		const stream = `${prefix}rejected`;
		const first = await appendWithinCap(redis, stream, [{ n: 0 }, { n: 1 }, { n: 2 }, { n: 3 }, { n: 4 }, { n: 5 }, { n: 6 }, { n: 7 }], 10);
		expect(first).toMatchObject({ length: 8, nearCap: false, refused: 0 });
		const second = await appendWithinCap(redis, stream, [{ n: 8 }, { n: 9 }, { n: 10 }], 10);
		expect(second.ids.map((id) => id !== null)).toEqual([true, true, false]);
		expect(second).toMatchObject({ length: 10, nearCap: true, refused: 1 });
		expect((await readMessages<{ n: number }>(redis, stream)).map((m) => m.n)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
		expect((await appendWithinCap(redis, `${prefix}uncapped`, [{ n: 1 }])).refused).toBe(0);
	});

	test('a DLQ at its cap takes nothing more: the entry stays pending and no dead letter is trimmed', async () => {
		const stream = `${prefix}queue`;
		const dlqStream = `${prefix}dlq`;
		await addJson(redis, dlqStream, [{ old: 1 }, { old: 2 }]);
		const [id] = await addJson(redis, stream, [{ n: 1 }]);
		await redis.xgroup('CREATE', stream, 'g', '0');
		await redis.xreadgroup('GROUP', 'g', 'c', 'STREAMS', stream, '>');
		await expect(
			moveToDeadLetters(redis, { stream, group: 'g', dlqStream, dlqMaxLen: 2 }, [{ id, message: '{}', retryCount: 5, fallbackError: 'x' }]),
		).rejects.toThrow(/at its cap/);
		expect(await pendingCount(redis, stream, 'g')).toBe(1);
		expect(await readMessages(redis, dlqStream)).toEqual([{ old: 1 }, { old: 2 }]);

		const info = await queueInfo(redis, { stream, group: 'g', dlqStream, dlqCap: 2 });
		expect(info).toMatchObject({ dlqSize: 2, dlqCap: 2, dlqNearCap: true, alerting: true });
		expect((await queueInfo(redis, { stream, group: 'g', dlqStream })).dlqNearCap).toBe(false);
	});
});
