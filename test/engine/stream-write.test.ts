import type Redis from 'ioredis';

import { addEntries } from '../../nodes/shared/queue/streams';
import { deletePrefix, testRedis, uniquePrefix } from '../support/redis';
import { readAll } from '../support/streams';

// addEntries is the one path every stream write of a batch takes (the Add operation, the Filter
// Router's sync-queue hand-off, the webhook retry queue): one result per entry in input order, a
// refused entry reported on its own while the rest are stored, whatever way the entries travel.
const prefix = uniquePrefix('write');
let redis: Redis;

beforeAll(() => {
	redis = testRedis();
});
afterAll(async () => {
	await deletePrefix(redis, prefix);
	redis.disconnect();
});

describe('addEntries: one result per entry, in input order', () => {
	test('a large batch over two streams: every entry stored once, in input order per stream, ids as returned', async () => {
		const [a, b] = [`${prefix}a`, `${prefix}b`];
		const entries = Array.from({ length: 1234 }, (_, n) => ({ stream: n % 3 === 0 ? b : a, message: { n } }));
		const results = await addEntries(redis, entries);
		expect(results).toHaveLength(entries.length);
		expect(results.every((r) => r.ok)).toBe(true);
		for (const stream of [a, b]) {
			const stored = await readAll(redis, stream);
			const expected = entries.flatMap((e, i) => (e.stream === stream ? [{ i, n: (e.message as { n: number }).n }] : []));
			expect(stored.map((s) => JSON.parse(s.fields.message).n)).toEqual(expected.map((x) => x.n));
			expect(stored.map((s) => s.id)).toEqual(expected.map((x) => (results[x.i] as { id: string }).id));
		}
	});

	test('an entry Redis refuses (WRONGTYPE) is reported on its own; the entries around it are stored', async () => {
		const [good, wrong] = [`${prefix}good`, `${prefix}wrong`];
		await redis.set(wrong, 'not a stream');
		const results = await addEntries(redis, [
			{ stream: good, message: { n: 1 } },
			{ stream: wrong, message: { n: 2 } },
			{ stream: good, message: { n: 3 } },
		]);
		expect(results.map((r) => r.ok)).toEqual([true, false, true]);
		expect(results[1].ok ? '' : results[1].error.message).toMatch(/WRONGTYPE/);
		expect((await readAll(redis, good)).map((s) => JSON.parse(s.fields.message).n)).toEqual([1, 3]);
		expect(await redis.get(wrong)).toBe('not a stream');
	});

	test('a text message is stored as it is; anything else as JSON', async () => {
		const stream = `${prefix}text`;
		await addEntries(redis, [
			{ stream, message: 'plain "text"' },
			{ stream, message: { nested: { ok: true }, list: [1, 'two'] } },
		]);
		expect((await readAll(redis, stream)).map((s) => s.fields.message)).toEqual(['plain "text"', '{"nested":{"ok":true},"list":[1,"two"]}']);
	});

	test('large messages: a batch bigger than one script run by size is stored whole and in order', async () => {
		const stream = `${prefix}large`;
		const big = 'x'.repeat(400_000);
		const results = await addEntries(redis, Array.from({ length: 6 }, (_, n) => ({ stream, message: { n, big } })));
		expect(results.every((r) => r.ok)).toBe(true);
		const stored = await readAll(redis, stream);
		expect(stored.map((s) => JSON.parse(s.fields.message) as { n: number; big: string }).map((m) => [m.n, m.big.length])).toEqual(Array.from({ length: 6 }, (_, n) => [n, 400_000]));
		expect(stored.map((s) => s.id)).toEqual(results.map((r) => (r as { id: string }).id));
	});

	test('no entries: no results', async () => {
		expect(await addEntries(redis, [])).toEqual([]);
	});
});
