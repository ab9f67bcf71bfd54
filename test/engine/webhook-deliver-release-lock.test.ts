import type Redis from 'ioredis';

import { newTraceId } from '../../nodes/shared/lead/trace';
import { newEnvelope } from '../../nodes/shared/webhook/webhookDelivery';
import { delaySetKey, deferDeliveries, releaseDue, type WebhookQueueNames } from '../../nodes/shared/webhook/webhookQueue';
import { deletePrefix, testRedis, uniquePrefix } from '../support/redis';

/** Issue 25 item 13: releaseDue frees its lock only while it still owns it (compare-and-delete). */

const prefix = uniquePrefix('webhook-deliver-release-lock');
const redis = testRedis();
let n = 0;
let names: WebhookQueueNames;

beforeEach(() => {
	n++;
	names = { keyPrefix: `${prefix}${n}`, retryStream: `${prefix}${n}:retry`, dlqStream: `${prefix}${n}:dlq` };
});
afterAll(async () => {
	await deletePrefix(redis, prefix);
	redis.disconnect();
});

describe('releaseDue lock', () => {
	/** This Redis, except that another releaser takes the lock over while the release reads the due set. */
	function takenOverDuringRelease(lockKey: string): Redis {
		return new Proxy(redis, {
			get(target, property) {
				if (property === 'zrangebyscore') {
					return async (...args: unknown[]) => {
						await target.set(lockKey, 'another-holder', 'PX', 30_000);
						return await (target.zrangebyscore as (...a: unknown[]) => Promise<string[]>)(...args);
					};
				}
				const value = Reflect.get(target, property, target) as unknown;
				return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
			},
		});
	}

	test('a lock another holder has taken over (ours expired) is not deleted', async () => {
		const envelope = { ...newEnvelope({ traceId: newTraceId(), eventType: 'lead.synced', url: 'https://example.com/h', method: 'POST', payload: {}, headers: {} }), notBefore: Date.now() - 1 };
		await deferDeliveries(redis, names, [envelope]);
		const lockKey = `${delaySetKey(names)}:releasing`;
		expect(await releaseDue(takenOverDuringRelease(lockKey), names, Date.now())).toBe(1);
		expect(await redis.get(lockKey)).toBe('another-holder');
		// While the other holder has it, a release moves nothing.
		await deferDeliveries(redis, names, [{ ...envelope, nextAttempt: 2 }]);
		expect(await releaseDue(redis, names, Date.now())).toBe(0);
	});

	test('a release frees its own lock', async () => {
		const lockKey = `${delaySetKey(names)}:releasing`;
		expect(await releaseDue(redis, names, Date.now())).toBe(0);
		expect(await redis.exists(lockKey)).toBe(0);
		const envelope = { ...newEnvelope({ traceId: newTraceId(), eventType: 'lead.synced', url: 'https://example.com/h', method: 'POST', payload: {}, headers: {} }), notBefore: Date.now() - 1 };
		await deferDeliveries(redis, names, [envelope]);
		expect(await releaseDue(redis, names, Date.now())).toBe(1);
		expect(await redis.exists(lockKey)).toBe(0);
	});
});
