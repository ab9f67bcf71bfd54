import type Redis from 'ioredis';

import { fieldsToObject } from '../../nodes/shared/queue/streams';

export interface StoredEntry {
	id: string;
	fields: Record<string, string>;
}

export async function readAll(redis: Redis, stream: string): Promise<StoredEntry[]> {
	const raw = (await redis.xrange(stream, '-', '+')) as Array<[string, string[]]>;
	return raw.map(([id, fields]) => ({ id, fields: fieldsToObject(fields) }));
}

/** The `message` JSON of every entry. */
export async function readMessages<T = Record<string, unknown>>(redis: Redis, stream: string): Promise<T[]> {
	return (await readAll(redis, stream)).map((e) => JSON.parse(e.fields.message) as T);
}

export async function addJson(redis: Redis, stream: string, messages: unknown[]): Promise<string[]> {
	const pipeline = redis.pipeline();
	for (const m of messages) pipeline.xadd(stream, '*', 'message', typeof m === 'string' ? m : JSON.stringify(m));
	return ((await pipeline.exec()) ?? []).map(([, id]) => id as string);
}

export async function pendingCount(redis: Redis, stream: string, group: string): Promise<number> {
	const [count] = (await redis.xpending(stream, group)) as [number, ...unknown[]];
	return Number(count);
}

export async function eventually(check: () => Promise<boolean>, timeoutMs = 20_000, what = 'condition'): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!(await check())) {
		if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
		await new Promise((r) => setTimeout(r, 50));
	}
}
