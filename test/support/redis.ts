import { randomBytes } from 'node:crypto';

import Redis from 'ioredis';

import { redisUrl } from '../../scripts/engine-harness/redis';

// The URL, the credential and the prefix cleaner live beside the engine harness (the benchmarks
// use them too); the tests keep importing them from here.
export { deletePrefix, redisCredential, redisUrl } from '../../scripts/engine-harness/redis';

/** A key prefix no other test file (or run) shares. */
export function uniquePrefix(name: string): string {
	return `test:${name}:${process.pid}:${randomBytes(4).toString('hex')}:`;
}

export function testRedis(): Redis {
	return new Redis(redisUrl(), { maxRetriesPerRequest: 1 });
}
