import type Redis from 'ioredis';

import { dateIn, dayKey } from '../../nodes/shared/metrics/counters';

/** Today's counts (UTC day) of a namespace: `{ "received|WEBSITE": 2, ... }`. */
export async function countsToday(redis: Redis, namespace: string): Promise<Record<string, number>> {
	const raw = await redis.hgetall(dayKey(namespace, 'UTC', dateIn(new Date(), 'UTC')));
	return Object.fromEntries(Object.entries(raw).map(([field, value]) => [field, Number(value)]));
}

/**
 * Turns the day hash of a namespace into a string so every metrics write fails with WRONGTYPE
 * (the recorder checks key types before writing anything).
 */
export async function breakMetrics(redis: Redis, namespace: string): Promise<void> {
	const key = dayKey(namespace, 'UTC', dateIn(new Date(), 'UTC'));
	await redis.del(key);
	await redis.set(key, 'not a hash');
}
