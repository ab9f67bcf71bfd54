import type Redis from 'ioredis';
import type { IWebhookFunctions } from 'n8n-workflow';

import { enqueueLeads, keepRejected, type EnqueueResult, type RejectedEntry } from '../shared/intake';
import type { Lead } from '../shared/lead';
import { withSharedRedis } from '../shared/queue';
import { cachedCredentials } from '../common/credentialCache';
import { REDIS_CREDENTIAL, toRedisCredentialData } from '../common/redisCredential';
import { countIntake } from './metrics';
import type { Settings } from './settings';

/** Where an accepted request is kept before it is answered: the lead stream and the rejected stream. */

/**
 * The process's request-path connection for this credential (see redisPool): its commands time
 * out, so a stalled Redis fails the request (answered 503) instead of holding the sender.
 */
export async function withIntakeRedis<T>(ctx: IWebhookFunctions, task: (redis: Redis) => Promise<T>): Promise<T> {
	return await withSharedRedis(toRedisCredentialData(await cachedCredentials(ctx, REDIS_CREDENTIAL)), task, 'request');
}

/** Keeps rejected entries within the cap; warns from 90% of it (the option says so). */
export async function keepRejectedEntries(ctx: IWebhookFunctions, s: Settings, redis: Redis, rejected: RejectedEntry[]): Promise<void> {
	const write = await keepRejected(redis, s.rejectedStream, rejected, s.rejectedStreamCap);
	if (write?.nearCap) {
		ctx.logger.warn(
			`Lead Trigger: rejected stream ${s.rejectedStream} holds ${write.length} of ${s.rejectedStreamCap} entries (option Rejected Stream Cap); at the cap new rejections are answered 503. Review or delete entries, or raise the cap.`,
		);
	}
}

/** Stores leads (and, for Meta channels, rejects) before anything is answered. */
export async function store(ctx: IWebhookFunctions, s: Settings, leads: Lead[], rejected: RejectedEntry[]): Promise<EnqueueResult[]> {
	if (!s.durable) return leads.map((lead) => ({ traceId: lead.traceId, stored: true as const, id: '' }));
	return await withIntakeRedis(ctx, async (redis) => {
		const results = await enqueueLeads(redis, s.stream, leads, { maxLen: s.maxLen, replayWindowSeconds: s.replayWindowSeconds });
		await keepRejectedEntries(ctx, s, redis, rejected);
		countIntake(ctx, s, redis, leads.filter((_, i) => results[i].stored), rejected);
		return results;
	});
}
