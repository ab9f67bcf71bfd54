import type Redis from 'ioredis';

import { firstError } from './entries';

/** Where a consumer keeps the last failure reason per pending id, so the DLQ entry can say why. */
export function errorsKey(stream: string, group: string): string {
	return `${stream}:${group}:lastError`;
}

const ERRORS_TTL_SECONDS = 7 * 24 * 3600;

/** Records why these pending ids failed; throws if Redis refused any part of it. */
export async function recordErrors(
	redis: Redis,
	stream: string,
	group: string,
	errors: Array<{ id: string; error: string }>,
): Promise<void> {
	if (errors.length === 0) return;
	const key = errorsKey(stream, group);
	const replies = await redis
		.multi()
		.hset(key, ...errors.flatMap(({ id, error }) => [id, error.slice(0, 2000)]))
		.expire(key, ERRORS_TTL_SECONDS)
		.exec();
	const error = firstError(replies);
	if (error) throw error;
}

/** XACK the ids and forget their failure reasons, atomically. Returns how many were pending. */
export async function acknowledge(redis: Redis, stream: string, group: string, ids: string[]): Promise<number> {
	if (ids.length === 0) return 0;
	const replies = await redis.multi().xack(stream, group, ...ids).hdel(errorsKey(stream, group), ...ids).exec();
	const error = firstError(replies);
	if (error) throw error;
	return Number(replies![0][1]);
}

/** XACK per id in one round trip, so each id reports whether it was pending. */
export async function acknowledgeEach(
	redis: Redis,
	stream: string,
	group: string,
	ids: string[],
): Promise<Array<{ id: string; acknowledged: boolean; error?: string }>> {
	if (ids.length === 0) return [];
	const pipeline = redis.pipeline();
	for (const id of ids) pipeline.xack(stream, group, id);
	pipeline.hdel(errorsKey(stream, group), ...ids);
	const replies = (await pipeline.exec()) ?? [];
	return ids.map((id, i) => {
		const [error, count] = replies[i];
		return error ? { id, acknowledged: false, error: error.message } : { id, acknowledged: Number(count) === 1 };
	});
}
