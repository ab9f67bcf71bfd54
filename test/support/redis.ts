import { randomBytes } from 'node:crypto';

import Redis from 'ioredis';

import type { RedisCredentialData } from '../../nodes/shared/queue';

export function redisUrl(): string {
	return process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
}

/** The LeadPipelineRedis credential as a user would fill it in for the test server. */
export function redisCredential(): RedisCredentialData & Record<string, unknown> {
	const url = new URL(redisUrl());
	return {
		connectionType: 'hostPort',
		host: url.hostname,
		port: Number(url.port || 6379),
		username: decodeURIComponent(url.username),
		password: decodeURIComponent(url.password),
		database: Number(url.pathname.slice(1) || 0),
		tls: url.protocol === 'rediss:',
	};
}

/** A key prefix no other test file (or run) shares. */
export function uniquePrefix(name: string): string {
	return `test:${name}:${process.pid}:${randomBytes(4).toString('hex')}:`;
}

export function testRedis(): Redis {
	return new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
}

/** Deletes every key under the prefix (SCAN, never KEYS). */
export async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
	let cursor = '0';
	do {
		const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
		if (keys.length) await redis.del(...keys);
		cursor = next;
	} while (cursor !== '0');
}
