import type Redis from 'ioredis';

import { addEntries, addEntriesOnce } from '../../nodes/shared/queue/streams';
import { deletePrefix, testRedis, uniquePrefix } from '../support/redis';
import { addJson, readAll } from '../support/streams';

// Issue 9 item 3: a cap on a lead stream must never delete what a consumer group has not finished.
const prefix = uniquePrefix('trim');
let redis: Redis;

beforeAll(() => {
	redis = testRedis();
});
afterAll(async () => {
	await deletePrefix(redis, prefix);
	redis.disconnect();
});

const numbered = (count: number, from = 0) => Array.from({ length: count }, (_, i) => ({ n: from + i }));

/** 20 entries; group g: first 5 delivered and acked, next 5 pending, last 10 undelivered. */
async function backlog(stream: string) {
	const ids = await addJson(redis, stream, numbered(20));
	await redis.xgroup('CREATE', stream, 'g', '0');
	await redis.xreadgroup('GROUP', 'g', 'c1', 'COUNT', 10, 'STREAMS', stream, '>');
	await redis.xack(stream, 'g', ...ids.slice(0, 5));
	return ids;
}

describe('capped writes trim only what every group has acknowledged', () => {
	test('pending and undelivered entries survive a cap far below the backlog', async () => {
		const stream = `${prefix}backlog`;
		const ids = await backlog(stream);
		const [written] = await addEntries(redis, [{ stream, message: { n: 20 } }], { maxLen: 3, approximate: false });
		const kept = (await readAll(redis, stream)).map((e) => e.id);
		expect(kept).toEqual([...ids.slice(5), written.ok && written.id]);
	});

	test('the oldest group decides: a second group that read everything does not let the first lose entries', async () => {
		const stream = `${prefix}two-groups`;
		const ids = await backlog(stream);
		await redis.xgroup('CREATE', stream, 'fast', '$');
		await addEntries(redis, [{ stream, message: { n: 20 } }], { maxLen: 1, approximate: false });
		const kept = (await readAll(redis, stream)).map((e) => e.id);
		expect(kept.slice(0, 15)).toEqual(ids.slice(5));
	});

	test('a stream no group reads yet is never trimmed (nothing in it was consumed)', async () => {
		const stream = `${prefix}no-group`;
		await addJson(redis, stream, numbered(10));
		await addEntries(redis, [{ stream, message: { n: 10 } }], { maxLen: 2, approximate: false });
		expect(await redis.xlen(stream)).toBe(11);
	});

	test('when every group has acknowledged everything, the cap applies as MAXLEN', async () => {
		const stream = `${prefix}all-acked`;
		const ids = await addJson(redis, stream, numbered(10));
		await redis.xgroup('CREATE', stream, 'g', '0');
		await redis.xreadgroup('GROUP', 'g', 'c1', 'COUNT', 10, 'STREAMS', stream, '>');
		await redis.xack(stream, 'g', ...ids);
		await addEntries(redis, [{ stream, message: { n: 10 } }], { maxLen: 4, approximate: false });
		expect((await readAll(redis, stream)).map((e) => JSON.parse(e.fields.message).n)).toEqual([7, 8, 9, 10]);
	});

	test('the cap trims down to the floor when the floor is the limit, and no further', async () => {
		const stream = `${prefix}floor`;
		const ids = await backlog(stream);
		await addEntries(redis, [{ stream, message: { n: 20 } }], { maxLen: 18, approximate: false });
		// 21 entries, cap 18: the 3 oldest (acked) go; the other 2 acked ones stay (cap not exceeded).
		expect((await readAll(redis, stream))[0].id).toBe(ids[3]);
	});

	test('no cap by default: enqueue (add-once) never trims', async () => {
		const stream = `${prefix}default`;
		const ids = await backlog(stream);
		await addEntriesOnce(redis, [{ stream, message: { n: 20 }, rememberValue: 't', rememberSeconds: 60 }]);
		expect((await readAll(redis, stream))[0].id).toBe(ids[0]);
	});

	test('enqueue (add-once) with a cap keeps pending and undelivered entries', async () => {
		const stream = `${prefix}once-capped`;
		const ids = await backlog(stream);
		await addEntriesOnce(redis, [{ stream, message: { n: 20 }, onceKey: `${prefix}once`, rememberValue: 't', rememberSeconds: 60 }], {
			maxLen: 2,
			approximate: false,
		});
		expect((await readAll(redis, stream)).map((e) => e.id).slice(0, 15)).toEqual(ids.slice(5));
	});
});
