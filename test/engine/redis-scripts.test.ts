import { randomBytes } from 'node:crypto';

import { batchedLuaScript, evalScript, evalScriptBatched, evalScriptMany, luaScript } from '../../nodes/shared/queue/redisScripts';
import { deletePrefix, testRedis, uniquePrefix } from '../support/redis';

// Scripts run by SHA; one Redis has never seen (here: a fresh random comment, so no other test or
// run can have loaded it) must be loaded and its calls sent again, each run exactly once.
const prefix = uniquePrefix('scripts');
const redis = testRedis();

afterAll(async () => {
	await deletePrefix(redis, prefix);
	redis.disconnect();
});

const counting = () => luaScript(`-- ${randomBytes(8).toString('hex')}\nreturn redis.call('INCRBY', KEYS[1], ARGV[1])`);

test('a script Redis does not know: loaded, every call runs once, replies in call order', async () => {
	const script = counting();
	expect(await redis.script('EXISTS', script.sha)).toEqual([0]);
	const key = `${prefix}count`;
	const replies = await evalScriptMany(redis, script, [1, 2, 3].map((by) => ({ keys: [key], args: [by] })));
	expect(replies).toEqual([[null, 1], [null, 3], [null, 6]]);
	expect(await redis.get(key)).toBe('6');
	expect(await redis.script('EXISTS', script.sha)).toEqual([1]);
});

test('a call Redis refuses keeps its own error; the others still run', async () => {
	const script = counting();
	const wrongType = `${prefix}list`;
	await redis.rpush(wrongType, 'x');
	const replies = await evalScriptMany(redis, script, [{ keys: [`${prefix}a`], args: [5] }, { keys: [wrongType], args: [1] }]);
	expect(replies[0]).toEqual([null, 5]);
	expect(replies[1][0]?.message).toMatch(/WRONGTYPE/);
	await expect(evalScript(redis, script, { keys: [wrongType], args: [1] })).rejects.toThrow(/WRONGTYPE/);
	expect(await evalScriptMany(redis, script, [])).toEqual([]);
});

// The body as for one call; here it also hands back what it saw of its own KEYS and ARGV.
const batchedCounting = () =>
	batchedLuaScript(`-- ${randomBytes(8).toString('hex')}`, `
if ARGV[1] == 'fail' then return redis.error_reply('ERR asked to fail') end
local total = redis.call('INCRBY', KEYS[1], ARGV[1])
return { total, #KEYS, #ARGV, ARGV[#ARGV] }`);

describe('evalScriptBatched', () => {
	test('250 calls in three script runs: each call sees only its own keys and args, replies in call order', async () => {
		const script = batchedCounting();
		const calls = Array.from({ length: 250 }, (_, i) => ({ keys: [`${prefix}b${i % 7}`], args: [1, 'x', `last-${i}`] }));
		const before = Number((await redis.info('commandstats')).match(/cmdstat_evalsha:calls=(\d+)/)?.[1] ?? 0);
		const replies = await evalScriptBatched(redis, script, calls);
		const after = Number((await redis.info('commandstats')).match(/cmdstat_evalsha:calls=(\d+)/)?.[1] ?? 0);
		// First run: NOSCRIPT for all three chunks, then loaded and sent again (6); later runs: 3.
		expect(after - before).toBeLessThanOrEqual(6);
		expect(replies).toHaveLength(250);
		replies.forEach(([error, reply], i) => {
			expect(error).toBeNull();
			expect(reply).toEqual([Math.floor(i / 7) + 1, 1, 3, `last-${i}`]);
		});
		expect(await redis.get(`${prefix}b0`)).toBe(String(Math.ceil(250 / 7)));
	});

	test("a call's error (raised by Redis or returned) is that call's alone; the calls after it still run", async () => {
		const script = batchedCounting();
		const wrongType = `${prefix}blist`;
		await redis.rpush(wrongType, 'x');
		const replies = await evalScriptBatched(redis, script, [
			{ keys: [`${prefix}c`], args: [2] },
			{ keys: [wrongType], args: [1] },
			{ keys: [`${prefix}c`], args: ['fail'] },
			{ keys: [`${prefix}c`], args: [3] },
		]);
		expect(replies[0]).toEqual([null, [2, 1, 1, '2']]);
		expect(replies[1][0]?.message).toMatch(/WRONGTYPE/);
		expect(replies[2][0]?.message).toMatch(/asked to fail/);
		expect(replies[3]).toEqual([null, [5, 1, 1, '3']]);
		expect(await evalScriptBatched(redis, script, [])).toEqual([]);
	});

	test('shared args: sent once per script run, every call of every run sees them', async () => {
		const script = batchedLuaScript(`-- ${randomBytes(8).toString('hex')}`, `return SHARED[1] .. '/' .. SHARED[2] .. '/' .. ARGV[1] .. '/' .. #ARGV .. '/' .. #KEYS`);
		const calls = Array.from({ length: 230 }, (_, i) => ({ keys: [`${prefix}k${i}`], args: [i] }));
		const replies = await evalScriptBatched(redis, script, calls, ['ns', 7]);
		expect(replies).toEqual(calls.map((_, i) => [null, `ns/7/${i}/1/1`]));
		// Without shared args SHARED is empty: this body's concatenation fails, as that call's error.
		const [[error]] = await evalScriptBatched(redis, script, [{ keys: [], args: ['x'] }]);
		expect(error?.message).toMatch(/concatenate/);
	});

	test('a call that returns nothing replies null; the replies after it keep their places', async () => {
		const script = batchedLuaScript(`-- ${randomBytes(8).toString('hex')}`, `
if ARGV[1] == 'none' then return nil end
if ARGV[1] == 'false' then return false end
return ARGV[1]`);
		const replies = await evalScriptBatched(redis, script, ['a', 'none', 'b', 'false', 'c'].map((arg) => ({ keys: [], args: [arg] })));
		expect(replies).toEqual([[null, 'a'], [null, null], [null, 'b'], [null, null], [null, 'c']]);
	});
});
