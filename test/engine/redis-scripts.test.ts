import { randomBytes } from 'node:crypto';

import { evalScript, evalScriptMany, luaScript } from '../../nodes/shared/redisScripts';
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
