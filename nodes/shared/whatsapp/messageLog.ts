import type Redis from 'ioredis';

import type { ChannelName } from './channels/channel';
import { DEFAULT_KEPT_LIMITS, keepStatus, matchUnknown, SETTLE_UNKNOWN_SCRIPT, takeKept, type KeptStatus, type KeptStatusLimits, type UnknownMatch } from './keptStatuses';
import type { WhatsAppKeys } from './keys';

/**
 * The message log: one Redis hash per message (by wamid / QR id / a local id for messages that
 * never left), indexed per lead (traceId), plus the idempotency claims that stop a redelivered
 * item from messaging a lead twice. Status only moves forward:
 *
 *   PENDING → SENT → DELIVERED → READ
 *        ↘      ↘         ↘
 *                FAILED
 *
 * READ and FAILED are final; a status at or below the current one is ignored (webhooks arrive out
 * of order and are redelivered).
 *
 * UNKNOWN: the request reached the API and its answer was lost, so there is no wamid. It is kept
 * under a local id until a status webhook for that recipient settles it (then it moves to the
 * wamid as PENDING and on from there) or a person decides (see keptStatuses.ts).
 */
export const MESSAGE_STATUSES = ['PENDING', 'SENT', 'DELIVERED', 'READ', 'FAILED', 'UNKNOWN'] as const;
export type MessageStatus = (typeof MESSAGE_STATUSES)[number];

export interface MessageRecord {
	id: string;
	traceId: string;
	channel: ChannelName;
	to: string;
	waId?: string;
	hash: string;
	kind: 'text' | 'template';
	template?: string;
	status: MessageStatus;
	attempts: number;
	createdAt: string;
	updatedAt: string;
	sentAt?: string;
	deliveredAt?: string;
	readAt?: string;
	failedAt?: string;
	error?: string;
	errorCode?: number;
	fallbackFrom?: ChannelName;
}

const iso = (ms: number) => new Date(ms).toISOString();

function toHash(record: MessageRecord): Record<string, string> {
	const out: Record<string, string> = {};
	for (const [k, v] of Object.entries(record)) if (v !== undefined && v !== null) out[k] = String(v);
	return out;
}

function fromHash(hash: Record<string, string>): MessageRecord | undefined {
	if (!hash.id) return undefined;
	// A Redis hash holds only strings: the fields toHash wrote read back as they are and the numeric
	// ones are converted below; without a schema for the rest, this cast cannot be typed away.
	const record = { ...hash } as unknown as MessageRecord;
	record.attempts = Number(hash.attempts ?? 0);
	if (hash.errorCode !== undefined) record.errorCode = Number(hash.errorCode);
	return record;
}

// Writes the record only if absent (a message id is written once) and indexes it under the lead.
const RECORD_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('ZADD', KEYS[2], ARGV[2], KEYS[1])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return 1`;

// Moves status forward only. ARGV: new status, its timestamp field, iso time, error, error code.
const STATUS_SCRIPT = `
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return {'missing', ''} end
local rank = {UNKNOWN = 0, PENDING = 0, SENT = 1, DELIVERED = 2, READ = 3, FAILED = 3}
local trace = redis.call('HGET', KEYS[1], 'traceId') or ''
if current == ARGV[1] then return {'repeat', current, trace} end
if current == 'READ' or current == 'FAILED' or rank[ARGV[1]] <= rank[current] then return {'stale', current, trace} end
redis.call('HSET', KEYS[1], 'status', ARGV[1], ARGV[2], ARGV[3], 'updatedAt', ARGV[3])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'error', ARGV[4]) end
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'errorCode', ARGV[5]) end
return {'applied', current, trace}`;

// Idempotency claim: "pending:<token>:<lease end, ms>" while a send is in flight, then the message id.
// The pending value outlives its lease (it is kept for the hold time): a claim whose lease ended
// unsettled belongs to a run that died mid-send (n8n killed), and WhatsApp may have delivered it.
const CLAIM_SCRIPT = `
local v = redis.call('GET', KEYS[1])
if not v then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return {1, ''} end
if ARGV[3] ~= '' and v == ARGV[3] then redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2]) return {1, ''} end
return {0, v}`;

// Settles only the caller's own pending claim (matched on "pending:<token>:").
const SETTLE_SCRIPT = `
local v = redis.call('GET', KEYS[1])
if not v or string.sub(v, 1, string.len(ARGV[1])) ~= ARGV[1] then return 0 end
if ARGV[2] == '' then redis.call('DEL', KEYS[1]) else redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3]) end
return 1`;

export type ClaimResult =
	| { claimed: true; token: string }
	| { claimed: false; messageId?: string; inFlight: boolean; interrupted?: { claim: string; leaseEndedAt: number } };

const parsePending = (value: string): { leaseEnd: number } | undefined => {
	if (!value.startsWith('pending:')) return undefined;
	const leaseEnd = Number(value.slice(value.lastIndexOf(':') + 1));
	// A claim written before lease ends were recorded: treat as still in flight (it lapses by TTL).
	return { leaseEnd: Number.isFinite(leaseEnd) ? leaseEnd : Number.POSITIVE_INFINITY };
};

export type StatusUpdate =
	| { result: 'applied'; previous: MessageStatus; traceId: string }
	| { result: 'repeat' | 'stale'; previous: MessageStatus; traceId: string }
	| { result: 'missing' };

const TIME_FIELD: Record<MessageStatus, string> = {
	PENDING: 'createdAt',
	SENT: 'sentAt',
	DELIVERED: 'deliveredAt',
	READ: 'readAt',
	FAILED: 'failedAt',
	UNKNOWN: 'createdAt',
};

export class MessageLog {
	constructor(
		private readonly redis: Redis,
		private readonly keys: WhatsAppKeys,
		/** How long records and per-lead history are kept. */
		private readonly retentionMs: number,
		private readonly keptLimits: KeptStatusLimits = DEFAULT_KEPT_LIMITS,
	) {}

	/**
	 * Records a message once; false when a record with that id already exists. Statuses that came
	 * for its id before it was recorded (kept by Record Status) are applied now.
	 */
	async record(record: MessageRecord, nowMs: number): Promise<boolean> {
		const fields = Object.entries(toHash(record)).flat();
		const written = await this.redis.eval(
			RECORD_SCRIPT, 2, this.keys.message(record.id), this.keys.leadMessages(record.traceId),
			String(this.retentionMs), String(nowMs), ...fields,
		);
		if (written === 1 && record.status !== 'UNKNOWN') await this.applyKept(record.id);
		return written === 1;
	}

	/** Records a send whose outcome is unknown, findable by its recipient for a status webhook to settle. */
	async recordUnknown(record: MessageRecord, nowMs: number): Promise<void> {
		await this.record({ ...record, status: 'UNKNOWN' }, nowMs);
		// Only Cloud API sends get status webhooks to settle them.
		if (record.channel !== 'cloudApi') return;
		const index = this.keys.unknownByRecipient(record.to);
		await this.redis.multi().zadd(index, nowMs, record.id).pexpire(index, this.retentionMs).exec();
	}

	/** Keeps a status webhook whose wamid the log does not know (bounded: see keptStatuses.ts). */
	async keepStatus(status: KeptStatus, nowMs: number): Promise<void> {
		await keepStatus(this.redis, this.keys, this.keptLimits, status, nowMs);
	}

	/** Applies (and forgets) the statuses kept for a wamid; one update per kept status. */
	async applyKept(wamid: string): Promise<Array<{ status: MessageStatus; update: StatusUpdate }>> {
		const applied: Array<{ status: MessageStatus; update: StatusUpdate }> = [];
		for (const kept of await takeKept(this.redis, this.keys, wamid)) {
			const status = kept.status as MessageStatus;
			applied.push({ status, update: await this.updateStatus(wamid, status, kept.atMs, kept.error) });
		}
		return applied;
	}

	/** Pairs the recipient's unknown sends with kept statuses; see matchUnknown. */
	async matchUnknown(recipient: string): Promise<UnknownMatch> {
		return await matchUnknown(this.redis, this.keys, recipient);
	}

	/**
	 * Settles an UNKNOWN send as the message `wamid` (its status webhook proved it went out): the
	 * record moves to the wamid, the lead's claim names it, and the kept statuses apply.
	 */
	async settleUnknown(logId: string, wamid: string, nowMs: number): Promise<{ traceId: string; applied: Array<{ status: MessageStatus; update: StatusUpdate }> } | undefined> {
		const record = await this.get(logId);
		if (!record || record.status !== 'UNKNOWN') return undefined;
		const done = await this.redis.eval(
			SETTLE_UNKNOWN_SCRIPT, 5,
			this.keys.message(logId), this.keys.message(wamid), this.keys.leadMessages(record.traceId), this.keys.claim(record.traceId, record.hash), this.keys.unknownByRecipient(record.to),
			logId, wamid, iso(nowMs),
		);
		if (done !== 1) return undefined;
		return { traceId: record.traceId, applied: await this.applyKept(wamid) };
	}

	async get(messageId: string): Promise<MessageRecord | undefined> {
		return fromHash(await this.redis.hgetall(this.keys.message(messageId)));
	}

	/** The lead's messages, oldest first (records past retention are gone). */
	async history(traceId: string): Promise<MessageRecord[]> {
		const keys = await this.redis.zrange(this.keys.leadMessages(traceId), 0, -1);
		if (keys.length === 0) return [];
		const pipeline = this.redis.pipeline();
		for (const key of keys) pipeline.hgetall(key);
		const results = (await pipeline.exec()) ?? [];
		return results.map(([, hash]) => fromHash(hash as Record<string, string>)).filter((r): r is MessageRecord => Boolean(r));
	}

	/** The message already logged for this lead and content (a run that died before settling its claim), if any. */
	async loggedFor(traceId: string, hash: string): Promise<MessageRecord | undefined> {
		return (await this.history(traceId)).find((r) => r.hash === hash && r.status !== 'UNKNOWN' && r.status !== 'FAILED');
	}

	/** Applies a delivery status if it moves the message forward. */
	async updateStatus(messageId: string, status: MessageStatus, atMs: number, error?: { reason: string; code?: number }): Promise<StatusUpdate> {
		const reply = (await this.redis.eval(
			STATUS_SCRIPT, 1, this.keys.message(messageId),
			status, TIME_FIELD[status], iso(atMs), error?.reason ?? '', error?.code !== undefined ? String(error.code) : '',
		)) as string[];
		if (reply[0] === 'missing') return { result: 'missing' };
		return { result: reply[0] as 'applied' | 'repeat' | 'stale', previous: reply[1] as MessageStatus, traceId: reply[2] };
	}

	/**
	 * Takes the right to send (traceId, content hash) for `leaseMs` (from `nowMs`, the flow's clock);
	 * the claim is kept for `holdMs`. Losing means a message id (sent before, inside the window),
	 * another run still sending, or `interrupted`: a run took it and never settled it before its lease
	 * ended. `takeOver` (the value `interrupted.claim`) takes an interrupted claim on purpose.
	 */
	async claim(traceId: string, hash: string, token: string, leaseMs: number, holdMs: number, nowMs: number, takeOver = ''): Promise<ClaimResult> {
		const value = `pending:${token}:${nowMs + leaseMs}`;
		// Held as long as the log: a run that dies mid-send leaves it to mark an interrupted send.
		const hold = Math.max(holdMs, leaseMs, this.retentionMs);
		const [ok, current] = (await this.redis.eval(CLAIM_SCRIPT, 1, this.keys.claim(traceId, hash), value, String(hold), takeOver)) as [number, string];
		if (ok === 1) return { claimed: true, token };
		const pending = parsePending(current);
		if (!pending) return { claimed: false, messageId: current || undefined, inFlight: false };
		if (pending.leaseEnd > nowMs) return { claimed: false, inFlight: true };
		return { claimed: false, inFlight: false, interrupted: { claim: current, leaseEndedAt: pending.leaseEnd } };
	}

	/** Reads a claim without taking it. */
	async sentBefore(traceId: string, hash: string): Promise<string | undefined> {
		const value = await this.redis.get(this.keys.claim(traceId, hash));
		return value && !value.startsWith('pending:') ? value : undefined;
	}

	/**
	 * Outcome unknown: the claim names the log record, held as long as the log keeps it (at least
	 * the window), so no redelivery or replay sends it again until a person decides.
	 */
	async settleClaimUnknown(traceId: string, hash: string, token: string, logId: string, windowMs: number): Promise<void> {
		await this.settleClaim(traceId, hash, token, logId, Math.max(windowMs, this.retentionMs));
	}

	/** Sent: the claim now names the message for the rest of the window. Not sent: the claim is dropped. */
	async settleClaim(traceId: string, hash: string, token: string, messageId: string | undefined, windowMs: number): Promise<void> {
		await this.redis.eval(SETTLE_SCRIPT, 1, this.keys.claim(traceId, hash), `pending:${token}:`, messageId ?? '', String(windowMs));
	}
}

export { iso as isoTime };
