import type Redis from 'ioredis';

import type { WhatsAppKeys } from './keys';

/**
 * Status webhooks for a wamid the message log does not know (yet), and sends whose outcome is
 * unknown. Meta's webhook often arrives before the send's own log write, and always before a
 * client timeout ends: dropping it would lose the one fact that settles an unknown send. So such
 * statuses are kept, bounded (a capped index per namespace, a TTL on every entry), and matched:
 *
 *  - by wamid, when the message is recorded later (a late log write, a replay);
 *  - by recipient, against the sends to that recipient whose outcome is unknown (no wamid came
 *    back): exactly one unknown send and exactly one unrecorded wamid after it settle each other;
 *    anything more is ambiguous and stays for a person.
 */

export interface KeptStatusLimits {
	/** Most wamids kept per namespace; the oldest go first. */
	keptStatusCap: number;
	keptStatusTtlMs: number;
}

export const DEFAULT_KEPT_LIMITS: KeptStatusLimits = { keptStatusCap: 10_000, keptStatusTtlMs: 7 * 86_400_000 };

/** Status times are Meta's clock, claim times ours: allow this much skew when pairing them. */
export const MATCH_SKEW_MS = 120_000;

export interface KeptStatus {
	wamid: string;
	/** SENT / DELIVERED / READ / FAILED. */
	status: string;
	atMs: number;
	/** Meta's recipient_id (digits), when the webhook had one. */
	recipient?: string;
	error?: { reason: string; code?: number };
}

const ORDER = ['SENT', 'DELIVERED', 'READ', 'FAILED'];

export async function keepStatus(redis: Redis, keys: WhatsAppKeys, limits: KeptStatusLimits, status: KeptStatus, nowMs: number): Promise<void> {
	const ttl = limits.keptStatusTtlMs;
	const entry = JSON.stringify({ atMs: status.atMs, ...(status.error ? { error: status.error } : {}) });
	const multi = redis
		.multi()
		.hset(keys.keptStatus(status.wamid), status.status, entry, 'recipient', status.recipient ?? '')
		.pexpire(keys.keptStatus(status.wamid), ttl)
		.zadd(keys.keptStatuses(), nowMs, status.wamid)
		.zremrangebyscore(keys.keptStatuses(), '-inf', nowMs - ttl)
		.pexpire(keys.keptStatuses(), ttl);
	if (status.recipient) multi.zadd(keys.keptByRecipient(status.recipient), status.atMs, status.wamid).pexpire(keys.keptByRecipient(status.recipient), ttl);
	await multi.exec();
	const excess = (await redis.zcard(keys.keptStatuses())) - limits.keptStatusCap;
	if (excess <= 0) return;
	const oldest = await redis.zrange(keys.keptStatuses(), 0, excess - 1);
	if (oldest.length === 0) return;
	await redis
		.multi()
		.zrem(keys.keptStatuses(), ...oldest)
		.del(...oldest.map((w) => keys.keptStatus(w)))
		.exec();
}

/** A kept wamid's statuses in the order they move a message, and forgets them. */
export async function takeKept(redis: Redis, keys: WhatsAppKeys, wamid: string): Promise<KeptStatus[]> {
	const hash = await redis.hgetall(keys.keptStatus(wamid));
	const statuses = ORDER.filter((s) => hash[s]).map((s) => {
		const parsed = JSON.parse(hash[s]) as { atMs: number; error?: KeptStatus['error'] };
		return { wamid, status: s, atMs: parsed.atMs, recipient: hash.recipient || undefined, error: parsed.error };
	});
	if (statuses.length === 0) return [];
	const multi = redis.multi().del(keys.keptStatus(wamid)).zrem(keys.keptStatuses(), wamid);
	if (hash.recipient) multi.zrem(keys.keptByRecipient(hash.recipient), wamid);
	await multi.exec();
	return statuses;
}

export type UnknownMatch = { settle: { logId: string; wamid: string } } | { ambiguous: number } | { none: true };

/**
 * Pairs the recipient's unknown sends with kept statuses of wamids the log has no record of.
 * Only a one-to-one pair is trusted; a status from before the send (minus clock skew) is not its.
 */
export async function matchUnknown(redis: Redis, keys: WhatsAppKeys, recipient: string): Promise<UnknownMatch> {
	const unknowns = await openUnknowns(redis, keys, recipient);
	if (unknowns.length === 0) return { none: true };
	const earliest = Math.min(...unknowns.map((u) => u.atMs));
	const kept = (await zrangeWithScores(redis, keys.keptByRecipient(recipient))).filter((k) => k.score >= earliest - MATCH_SKEW_MS);
	const candidates: string[] = [];
	for (const { member } of kept) {
		const [keptExists, recorded] = await Promise.all([redis.exists(keys.keptStatus(member)), redis.exists(keys.message(member))]);
		if (keptExists && !recorded) candidates.push(member);
	}
	if (candidates.length === 0) return { none: true };
	if (unknowns.length === 1 && candidates.length === 1) return { settle: { logId: unknowns[0].logId, wamid: candidates[0] } };
	return { ambiguous: Math.max(unknowns.length, candidates.length) };
}

async function zrangeWithScores(redis: Redis, key: string): Promise<Array<{ member: string; score: number }>> {
	const flat = await redis.zrange(key, 0, -1, 'WITHSCORES');
	const out: Array<{ member: string; score: number }> = [];
	for (let i = 0; i + 1 < flat.length; i += 2) out.push({ member: flat[i], score: Number(flat[i + 1]) });
	return out;
}

/** The recipient's Cloud API sends still UNKNOWN (settled or expired ones drop out of the index). */
async function openUnknowns(redis: Redis, keys: WhatsAppKeys, recipient: string): Promise<Array<{ logId: string; atMs: number }>> {
	const open: Array<{ logId: string; atMs: number }> = [];
	for (const { member, score } of await zrangeWithScores(redis, keys.unknownByRecipient(recipient))) {
		const status = await redis.hget(keys.message(member), 'status');
		if (status === 'UNKNOWN') open.push({ logId: member, atMs: score });
		else await redis.zrem(keys.unknownByRecipient(recipient), member);
	}
	return open;
}

// Moves an UNKNOWN record to its wamid: renamed (TTL kept), PENDING, re-indexed under the lead,
// and the lead's claim names the wamid. Refused if it is no longer UNKNOWN or the wamid is taken.
// KEYS: record, record under the wamid, lead index, claim, recipient's unknown index.
// ARGV: log id, wamid, iso time.
export const SETTLE_UNKNOWN_SCRIPT = `
if redis.call('HGET', KEYS[1], 'status') ~= 'UNKNOWN' then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local score = redis.call('ZSCORE', KEYS[3], KEYS[1])
redis.call('RENAME', KEYS[1], KEYS[2])
redis.call('HSET', KEYS[2], 'id', ARGV[2], 'status', 'PENDING', 'unknownLogId', ARGV[1], 'updatedAt', ARGV[3])
redis.call('ZREM', KEYS[3], KEYS[1])
if score then redis.call('ZADD', KEYS[3], score, KEYS[2]) end
if redis.call('GET', KEYS[4]) == ARGV[1] then
	local ttl = redis.call('PTTL', KEYS[4])
	if ttl > 0 then redis.call('SET', KEYS[4], ARGV[2], 'PX', ttl) else redis.call('SET', KEYS[4], ARGV[2]) end
end
redis.call('ZREM', KEYS[5], ARGV[1])
return 1`;
