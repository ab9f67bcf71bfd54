import { createHash } from 'node:crypto';

import type Redis from 'ioredis';

/** A Lua script and its SHA1, computed once: calls send the 40-character SHA, not the script. */
export interface LuaScript {
	lua: string;
	sha: string;
}

export const luaScript = (lua: string): LuaScript => ({ lua, sha: createHash('sha1').update(lua).digest('hex') });

export interface ScriptCall {
	keys: string[];
	args: Array<string | number>;
}

export type ScriptReply = [Error | null, unknown];

const isNoScript = (error: Error | null) => Boolean(error && /^NOSCRIPT/.test(error.message));

/**
 * Runs many calls of one script in one pipelined round trip with EVALSHA; replies in call order,
 * as ioredis's pipeline gives them ([error, value], never thrown). A script Redis does not have
 * (first use, or its cache emptied by a restart) answers NOSCRIPT without running, so those calls
 * alone are sent again after SCRIPT LOAD: nothing runs twice.
 */
export async function evalScriptMany(redis: Redis, script: LuaScript, calls: ScriptCall[]): Promise<ScriptReply[]> {
	if (calls.length === 0) return [];
	const send = async (batch: ScriptCall[]) => {
		const pipeline = redis.pipeline();
		for (const { keys, args } of batch) pipeline.evalsha(script.sha, keys.length, ...keys, ...args);
		return ((await pipeline.exec()) ?? []) as ScriptReply[];
	};
	const replies = await send(calls);
	const missing = replies.flatMap(([error], i) => (isNoScript(error) ? [i] : []));
	if (missing.length === 0) return replies;
	await redis.script('LOAD', script.lua);
	const retried = await send(missing.map((i) => calls[i]));
	missing.forEach((callIndex, k) => (replies[callIndex] = retried[k]));
	return replies;
}

/** One call; throws Redis's error. */
export async function evalScript(redis: Redis, script: LuaScript, call: ScriptCall): Promise<unknown> {
	const [[error, value]] = await evalScriptMany(redis, script, [call]);
	if (error) throw error;
	return value;
}
