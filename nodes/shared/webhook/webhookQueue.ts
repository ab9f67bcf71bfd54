import { randomBytes } from 'node:crypto';

import type Redis from 'ioredis';

import { evalScript, luaScript, addDeadLetterEntries, addEntries, type WriteResult } from '../queue';
import type { AttemptRecord, DeliveryEnvelope } from './webhookDelivery';

/**
 * Redis state of Webhook Deliver: the delivered-ids record (idempotency), the delay set holding
 * deliveries whose next attempt is minutes or hours away, its release into the retry stream, and
 * the dead-letter stream. Stream writes go through streams.addEntries.
 *
 * Long schedules never wait inside an execution:
 *   defer  → ZADD <delaySet> notBefore <envelope>             (this execution ends)
 *   release (every Deliver run with the retry queue on, and a Schedule Trigger + "Release Due
 *           Retries", which the shipped templates carry)
 *          → due envelopes appended to <retryStream>, then ZREMed
 *   Redis Stream Consumer Trigger on <retryStream> → Webhook Deliver → next attempt
 * An envelope that arrives before its notBefore (clock skew, a manual XADD) is parked again.
 */

export interface WebhookQueueNames {
	/** Prefix of the delivered-id keys: `<prefix>:delivered:<webhookId>`. */
	keyPrefix: string;
	retryStream: string;
	dlqStream: string;
}

export const DEFAULT_QUEUE_NAMES: WebhookQueueNames = {
	keyPrefix: 'webhook',
	retryStream: 'webhookRetryQueue',
	dlqStream: 'DLQWebhookDelivery',
};

export function delaySetKey(names: WebhookQueueNames): string {
	return `${names.retryStream}:scheduled`;
}

/** The envelopes of the delay set, by member (`<webhookId>|<nextAttempt>`). */
export function delayedEnvelopesKey(names: WebhookQueueNames): string {
	return `${names.retryStream}:scheduled:envelopes`;
}

function delayMember(envelope: DeliveryEnvelope): string {
	return `${envelope.webhookId}|${envelope.nextAttempt}`;
}

function deliveredKey(names: WebhookQueueNames, webhookId: string): string {
	return `${names.keyPrefix}:delivered:${webhookId}`;
}

export interface DeliveredRecord {
	status: number;
	at: string;
	attempts: number;
}

/** Which of these webhook-ids were already delivered within the window (one round trip). */
export async function deliveredRecords(
	redis: Redis,
	names: WebhookQueueNames,
	webhookIds: string[],
): Promise<Array<DeliveredRecord | undefined>> {
	if (webhookIds.length === 0) return [];
	const values = await redis.mget(...webhookIds.map((id) => deliveredKey(names, id)));
	return values.map((v) => (v ? (JSON.parse(v) as DeliveredRecord) : undefined));
}

/** Records successful deliveries for `windowSeconds`. */
export async function recordDelivered(
	redis: Redis,
	names: WebhookQueueNames,
	records: Array<{ webhookId: string; record: DeliveredRecord }>,
	windowSeconds: number,
): Promise<void> {
	if (records.length === 0) return;
	const pipeline = redis.pipeline();
	for (const { webhookId, record } of records) {
		pipeline.set(deliveredKey(names, webhookId), JSON.stringify(record), 'EX', Math.max(1, Math.round(windowSeconds)));
	}
	const results = (await pipeline.exec()) ?? [];
	const failed = results.find(([error]) => error);
	if (failed) throw failed[0];
}

/**
 * Parks envelopes until their notBefore. One member per webhook-id + attempt number, so parking
 * the same delivery again (a redelivered copy) replaces it instead of adding a second one.
 */
export async function deferDeliveries(redis: Redis, names: WebhookQueueNames, envelopes: DeliveryEnvelope[]): Promise<void> {
	if (envelopes.length === 0) return;
	const results = await redis
		.multi()
		.hset(delayedEnvelopesKey(names), ...envelopes.flatMap((e) => [delayMember(e), JSON.stringify(e)]))
		.zadd(delaySetKey(names), ...envelopes.flatMap((e) => [e.notBefore ?? 0, delayMember(e)]))
		.exec();
	const failed = results?.find(([error]) => error);
	if (failed) throw failed[0];
}

const RELEASE_LOCK_MS = 30_000;

/**
 * Deletes the lock only while it still holds our token: a release that outlived its lock (a slow
 * Redis, a paused process) must not delete the lock another releaser has taken since.
 */
const DELETE_IF_OWNED = luaScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`);

/**
 * Moves envelopes due by `now` into the retry stream (at most `limit`). A short lock keeps two
 * releasers from copying the same envelopes; a crash between the append and ZREM releases an envelope
 * twice, which the delivered-id record (and the receiver's webhook-id check) absorbs.
 */
export async function releaseDue(redis: Redis, names: WebhookQueueNames, now: number, limit = 500): Promise<number> {
	const key = delaySetKey(names);
	const lock = `${key}:releasing`;
	const token = `${now}:${randomBytes(8).toString('hex')}`;
	if ((await redis.set(lock, token, 'PX', RELEASE_LOCK_MS, 'NX')) !== 'OK') return 0;
	try {
		const members = await redis.zrangebyscore(key, '-inf', now, 'LIMIT', 0, limit);
		if (members.length === 0) return 0;
		const envelopes = await redis.hmget(delayedEnvelopesKey(names), ...members);
		const due = members.flatMap((member, i) => (envelopes[i] ? [{ member, message: envelopes[i] as string }] : []));
		const results = await addEntries(redis, due.map(({ message }) => ({ stream: names.retryStream, message })));
		const moved = due.filter((_d, i) => results[i].ok).map((d) => d.member);
		// Members whose envelope is missing are dropped too (nothing left to deliver).
		const orphans = members.filter((_m, i) => !envelopes[i]);
		if (moved.length || orphans.length) {
			await redis
				.multi()
				.zrem(key, ...moved, ...orphans)
				.hdel(delayedEnvelopesKey(names), ...(moved.length ? moved : orphans))
				.exec();
		}
		const refused = results.find((r): r is Extract<WriteResult, { ok: false }> => !r.ok);
		if (refused) throw new Error(`Redis refused an entry for ${names.retryStream}: ${refused.error.message}`);
		return moved.length;
	} finally {
		await evalScript(redis, DELETE_IF_OWNED, { keys: [lock], args: [token] });
	}
}

export interface DeadLetterInput {
	envelope: DeliveryEnvelope;
	reason: string;
	attempts: AttemptRecord[];
}

/** The `group` of a Webhook Deliver dead letter: it was given up by this node, not by a consumer group. */
export const WEBHOOK_DEAD_LETTER_GROUP = 'webhookDeliver';

/**
 * Final failures, for review and replay, in the pack's one DLQ entry shape: originalQueue is the
 * retry stream, so Replay Dead Letters (Redis Stream or Lead Pipeline Metrics node) puts the
 * envelope there and the retry workflow (consumer on the retry stream → Webhook Deliver) delivers
 * it again with fresh attempts (the message keeps failedAt, which marks it as a replay). Feeding a
 * consumed DLQ entry straight into Webhook Deliver works too.
 */
export async function deadLetterDeliveries(
	redis: Redis,
	names: WebhookQueueNames,
	letters: DeadLetterInput[],
	now: number,
): Promise<WriteResult[]> {
	const failedAt = new Date(now).toISOString();
	return await addDeadLetterEntries(
		redis,
		names.dlqStream,
		letters.map(({ envelope, reason, attempts }) => {
			const lastError = attempts[attempts.length - 1]?.error;
			return {
				message: { ...envelope, attempts, notBefore: undefined, failedAt, reason, lastError, originalQueue: names.retryStream },
				originalQueue: names.retryStream,
				originalId: envelope.webhookId,
				group: WEBHOOK_DEAD_LETTER_GROUP,
				failedAt,
				retryCount: attempts.length,
				lastError: lastError ?? reason,
			};
		}),
	);
}
