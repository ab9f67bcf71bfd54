import { randomUUID } from 'node:crypto';

import type { Clock } from '../http';
import type { ChannelName, RetryPolicy } from './channels/channel';
import type { CloudApiConfig } from './channels/cloudApi';
import type { QrSessionConfig } from './channels/qrSession';
import { openChannel } from './channels/registry';
import { ChannelDelivery, type Delivery } from './delivery';
import { contentHash } from './contentHash';
import { PAIR_RATE_INTERVAL_MS, UNKNOWN_OUTCOME_FIX, type GraphFailure } from './graphErrors';
import { recipientDigits, validateMessage, type OutgoingMessage, type TemplateMessage } from './graphPayload';
import { isoTime, type MessageLog } from './messageLog';
import { checkHours, type OutreachCounters, type OutreachRules, type Priority } from './outreachRules';

/**
 * One outgoing message from a lead item to an outcome: Sent, Not Sent (outcome "notSent", or
 * "unknown" when the request reached the API and its answer was lost) or Deferred. The order
 * matters: a duplicate answers before any rule (a redelivery is not a new message), hours before
 * the idempotency claim, the claim before counters (only the run that holds it counts), and every
 * exit that sends nothing gives back what it took.
 */

export interface SendItem {
	traceId: string;
	/** Recipient in international form (+972…, or wa_id digits). */
	to: string;
	message: OutgoingMessage;
	priority: Priority;
}

export interface SendSettings {
	channel: ChannelName;
	/** Undefined when the node has no Cloud API credential. */
	cloudApi?: CloudApiConfig;
	qr?: QrSessionConfig;
	/** Cloud API permanent error (or no credential): try the QR session service. */
	fallbackToQr: boolean;
	/** What a template message becomes on the QR channel (it has no templates). */
	qrText?: string;
	/** 131047 (outside the 24 h window): send this template instead. */
	fallbackTemplate?: TemplateMessage;
	rules?: OutreachRules;
	idempotencyWindowMs: number;
	/** How long a claim blocks other runs while this one sends (beyond the retries' own time). */
	claimLeaseMs: number;
	/** Send again a message whose earlier run died mid-send (it may be delivered twice). */
	resendInterrupted?: boolean;
	policy: RetryPolicy;
	signal?: AbortSignal;
}

export interface SendDeps {
	log: MessageLog;
	counters: OutreachCounters;
	clock: Clock;
}

export type SendOutput = 'sent' | 'notSent' | 'deferred';

export interface SendResult {
	output: SendOutput;
	whatsApp: Record<string, unknown>;
}

/** A claim this run holds: enough to turn it into an UNKNOWN record. */
interface HeldClaim {
	to: string;
	hash: string;
	token: string;
	/** When the send could first have gone out (for pairing it with a status webhook). */
	claimedAt: number;
}

const describe = (f: GraphFailure) => ({ reason: f.message, fix: f.fix, ...(f.code !== undefined ? { errorCode: f.code } : {}) });

export class WhatsAppSender {
	private readonly delivery: ChannelDelivery;

	constructor(
		private readonly settings: SendSettings,
		private readonly deps: SendDeps,
	) {
		this.delivery = new ChannelDelivery(settings);
	}

	async send(item: SendItem): Promise<SendResult> {
		const { settings, deps } = this;
		const to = recipientDigits(item.to);
		validateMessage(item.message);
		if (settings.fallbackTemplate) validateMessage(settings.fallbackTemplate);
		const hash = contentHash(to, item.message);
		const base = { traceId: item.traceId, to, priority: item.priority, hash };
		const now = deps.clock.now();

		// A recorded send (sent, or outcome unknown) is never sent again, unless a person chose to
		// resend an unknown one ("Resend Interrupted Sends").
		const before = await deps.log.sentBefore(item.traceId, hash);
		const resendUnknown = before !== undefined && settings.resendInterrupted === true && (await deps.log.get(before))?.status === 'UNKNOWN';
		if (before && !resendUnknown) return await this.duplicate(base, before);

		const rules = settings.rules;
		if (rules) {
			const hours = checkHours(now, rules, item.priority);
			if (!hours.open) {
				const why = hours.holiday ? 'a holiday' : 'outside business hours';
				if (hours.nextOpening === undefined) {
					return { output: 'notSent', whatsApp: { ...base, outcome: 'notSent', reason: `${why} and no opening in the next year`, fix: 'Check Opening Hours and Holidays in the business rules' } };
				}
				if (rules.outsideHours === 'reject') {
					return { output: 'notSent', whatsApp: { ...base, outcome: 'notSent', reason: `${why} (the rules reject sends outside hours)`, nextOpening: isoTime(hours.nextOpening) } };
				}
				return { output: 'deferred', whatsApp: { ...base, outcome: 'deferred', reason: why, sendAfter: isoTime(hours.nextOpening) } };
			}
		}

		const token = randomUUID();
		const leaseMs = settings.claimLeaseMs + this.maxSendTime();
		let claim = await deps.log.claim(item.traceId, hash, token, leaseMs, settings.idempotencyWindowMs, now, resendUnknown ? before : '');
		if (!claim.claimed && claim.interrupted && settings.resendInterrupted) {
			claim = await deps.log.claim(item.traceId, hash, token, leaseMs, settings.idempotencyWindowMs, now, claim.interrupted.claim);
		}
		if (!claim.claimed) {
			if (claim.messageId) return await this.duplicate(base, claim.messageId);
			if (claim.interrupted) return await this.interrupted(item, base, { to, hash, token, leaseMs, now }, claim.interrupted);
			return { output: 'deferred', whatsApp: { ...base, outcome: 'deferred', reason: 'another run is sending this message right now', sendAfter: isoTime(now + settings.claimLeaseMs) } };
		}
		const releaseClaim = async () => await deps.log.settleClaim(item.traceId, hash, token, undefined, 0);

		let warning: string | undefined;
		let tookDaily = false;
		if (rules) {
			const daily = await deps.counters.takeDaily(now, rules, item.priority);
			if (!daily.allowed) {
				await releaseClaim();
				return { output: 'deferred', whatsApp: { ...base, outcome: 'deferred', reason: daily.reason, sendAfter: isoTime(daily.retryAt), dailyCount: daily.count } };
			}
			tookDaily = true;
			warning = daily.warning;
			const rate = await deps.counters.takeRate(now, rules, item.priority);
			if (!rate.allowed) {
				await deps.counters.releaseDaily(now, rules);
				await releaseClaim();
				return { output: 'deferred', whatsApp: { ...base, outcome: 'deferred', reason: rate.reason, sendAfter: isoTime(rate.retryAt) } };
			}
		}
		const giveBack = async () => {
			if (rules && tookDaily) await deps.counters.releaseDaily(now, rules);
			await releaseClaim();
		};

		const pairWait = await deps.counters.pairRateWait(to, now);
		if (pairWait > settings.policy.maxInlineWaitMs) {
			await giveBack();
			if (rules) await deps.counters.releaseRate(rules);
			return { output: 'deferred', whatsApp: { ...base, outcome: 'deferred', reason: 'pair rate: this recipient was messaged too often just now', sendAfter: isoTime(now + pairWait) } };
		}
		if (pairWait > 0) await deps.clock.sleep(pairWait);

		let delivery: Delivery;
		try {
			delivery = await this.delivery.deliver(to, item.message);
		} catch (error) {
			await giveBack();
			throw error;
		}
		const { result } = delivery;
		if (delivery.result.pairRateHit) await deps.counters.markPairRate(to, deps.clock.now() + PAIR_RATE_INTERVAL_MS, deps.clock.now());
		const route = {
			channel: result.channel,
			attempts: delivery.attempts,
			...(delivery.sentTemplate ? { sentTemplate: delivery.sentTemplate } : {}),
			...(delivery.fallbackFrom ? { fallbackFrom: delivery.fallbackFrom, fallbackReason: delivery.fallbackReason } : {}),
		};

		if (result.ok) {
			const at = deps.clock.now();
			await deps.log.record(
				{
					id: result.messageId, traceId: item.traceId, channel: result.channel, to, waId: result.waId, hash,
					kind: delivery.sentTemplate ? 'template' : item.message.kind,
					template: delivery.sentTemplate ?? (item.message.kind === 'template' ? item.message.name : undefined),
					status: 'PENDING', attempts: delivery.attempts, createdAt: isoTime(at), updatedAt: isoTime(at), fallbackFrom: delivery.fallbackFrom,
				},
				at,
			);
			await deps.log.settleClaim(item.traceId, hash, token, result.messageId, settings.idempotencyWindowMs);
			return {
				output: 'sent',
				whatsApp: {
					...base, outcome: 'sent', ...route, wamid: result.messageId, waId: result.waId, messageStatus: result.messageStatus, duplicate: false,
					...(warning ? { capacityWarning: warning } : {}),
				},
			};
		}

		// The request reached the API and its answer was lost: it may be on the phone. Nothing is
		// given back (the claim now names the UNKNOWN record), so no redelivery sends it again.
		if (result.failure.kind === 'outcomeUnknown') return await this.unknownOutcome(item, base, { to, hash, token, claimedAt: now }, delivery, route);

		await giveBack();
		if (result.retryAt !== undefined) {
			return { output: 'deferred', whatsApp: { ...base, outcome: 'deferred', ...route, ...describe(result.failure), sendAfter: isoTime(result.retryAt) } };
		}
		const at = deps.clock.now();
		const localId = `local-${randomUUID()}`;
		await deps.log.record(
			{
				id: localId, traceId: item.traceId, channel: result.channel, to, hash, kind: item.message.kind,
				template: item.message.kind === 'template' ? item.message.name : undefined,
				status: 'FAILED', attempts: delivery.attempts, createdAt: isoTime(at), updatedAt: isoTime(at), failedAt: isoTime(at),
				error: `${result.failure.message} — ${result.failure.fix}`, errorCode: result.failure.code, fallbackFrom: delivery.fallbackFrom,
			},
			at,
		);
		return { output: 'notSent', whatsApp: { ...base, outcome: 'notSent', ...route, ...describe(result.failure), logId: localId } };
	}

	/** Longest time one send can take with its in-execution retries (the claim must outlive it). */
	private maxSendTime(): number {
		const { policy } = this.settings;
		return policy.attempts * ((this.settings.cloudApi?.timeoutMs ?? 10_000) + policy.maxInlineWaitMs);
	}

	/**
	 * Logs an unknown outcome (status UNKNOWN under a local id), holds the claim on it, and settles
	 * it at once if Record Status already kept this recipient's status webhook (it often beats the
	 * client timeout). Otherwise Not Sent with outcome "unknown": a person decides.
	 */
	private async unknownOutcome(item: SendItem, base: Record<string, unknown>, claim: HeldClaim, delivery: Delivery, route: Record<string, unknown>): Promise<SendResult> {
		const { result } = delivery;
		if (result.ok) throw new Error('unknownOutcome needs a failed result');
		const held = await this.holdUnknown(item, claim, {
			channel: result.channel, attempts: delivery.attempts, fallbackFrom: delivery.fallbackFrom, error: `${result.failure.message} — ${result.failure.fix}`,
		});
		if ('wamid' in held) return { output: 'sent', whatsApp: { ...base, outcome: 'sent', ...route, ...held, settledBy: 'status webhook', duplicate: false } };
		return { output: 'notSent', whatsApp: { ...base, outcome: 'unknown', needsPerson: true, ...route, ...describe(result.failure), logId: held.logId } };
	}

	/**
	 * A run died between claiming and settling (n8n killed mid-send): the POST may have gone out. The
	 * claim is taken over and turned into an UNKNOWN record, like a lost answer, so the log shows it,
	 * a status webhook can settle it, and every later delivery finds it.
	 */
	private async interrupted(item: SendItem, base: Record<string, unknown>, claim: Omit<HeldClaim, 'claimedAt'> & { leaseMs: number; now: number }, interrupted: { claim: string; leaseEndedAt: number }): Promise<SendResult> {
		const { deps, settings } = this;
		const reason = `an earlier run was interrupted while sending this message (its claim lapsed unsettled at ${isoTime(interrupted.leaseEndedAt)}): WhatsApp may have delivered it, so it is not sent again`;
		const fix = 'Check the chat with this lead; to send it anyway, run it again with the option "Resend Interrupted Sends" on';
		const taken = await deps.log.claim(item.traceId, claim.hash, claim.token, claim.leaseMs, settings.idempotencyWindowMs, claim.now, interrupted.claim);
		if (!taken.claimed) {
			if (taken.messageId) return await this.duplicate(base, taken.messageId);
			return { output: 'notSent', whatsApp: { ...base, outcome: 'notSent', interrupted: true, needsPerson: true, reason, fix } };
		}
		// The run may have died after logging the message and before settling the claim: then it was sent.
		const logged = await deps.log.loggedFor(item.traceId, claim.hash);
		if (logged) {
			await deps.log.settleClaim(item.traceId, claim.hash, claim.token, logged.id, settings.idempotencyWindowMs);
			return await this.duplicate(base, logged.id);
		}
		// The lost POST went out after its run claimed it, at the earliest a lease before it lapsed.
		const held = await this.holdUnknown(item, { ...claim, claimedAt: interrupted.leaseEndedAt - claim.leaseMs }, { channel: settings.channel, attempts: 0, error: reason });
		if ('wamid' in held) return { output: 'sent', whatsApp: { ...base, outcome: 'sent', ...held, settledBy: 'status webhook', duplicate: true } };
		return { output: 'notSent', whatsApp: { ...base, outcome: 'notSent', interrupted: true, needsPerson: true, reason, fix, logId: held.logId } };
	}

	/** Records the UNKNOWN, points the claim at it, and settles it if a kept status webhook pairs with it. */
	private async holdUnknown(
		item: SendItem,
		claim: HeldClaim,
		what: { channel: ChannelName; attempts: number; error: string; fallbackFrom?: ChannelName },
	): Promise<{ logId: string } | { wamid: string; status?: string }> {
		const { deps, settings } = this;
		const logId = `unknown-${randomUUID()}`;
		const at = deps.clock.now();
		await deps.log.recordUnknown(
			{
				id: logId, traceId: item.traceId, channel: what.channel, to: claim.to, hash: claim.hash, kind: item.message.kind,
				template: item.message.kind === 'template' ? item.message.name : undefined,
				status: 'UNKNOWN', attempts: what.attempts, createdAt: isoTime(at), updatedAt: isoTime(at), error: what.error, fallbackFrom: what.fallbackFrom,
			},
			claim.claimedAt,
		);
		await deps.log.settleClaimUnknown(item.traceId, claim.hash, claim.token, logId, settings.idempotencyWindowMs);
		// Only a channel with status webhooks can have one kept that settles this record.
		if (!this.delivery.channel(what.channel).statusWebhooks) return { logId };
		const match = await deps.log.matchUnknown(claim.to);
		if (!('settle' in match) || match.settle.logId !== logId) return { logId };
		if (!(await deps.log.settleUnknown(logId, match.settle.wamid, deps.clock.now()))) return { logId };
		return { wamid: match.settle.wamid, status: (await deps.log.get(match.settle.wamid))?.status };
	}

	private async duplicate(base: Record<string, unknown>, messageId: string): Promise<SendResult> {
		const record = await this.deps.log.get(messageId);
		if (record?.status === 'UNKNOWN') {
			return {
				output: 'notSent',
				whatsApp: {
					...base, outcome: 'unknown', needsPerson: true, duplicate: true, logId: messageId, channel: record.channel, sentFirstAt: record.createdAt,
					reason: 'an earlier run sent this message and lost the answer: WhatsApp may have delivered it, so it is not sent again',
					fix: UNKNOWN_OUTCOME_FIX,
				},
			};
		}
		return {
			output: 'sent',
			whatsApp: { ...base, outcome: 'sent', duplicate: true, wamid: messageId, channel: record?.channel, status: record?.status, sentFirstAt: record?.createdAt },
		};
	}
}

/** What a send would do, for editor test runs: no Redis, no HTTP, no counters. */
export function previewSend(item: SendItem, settings: SendSettings, nowMs: number): Record<string, unknown> {
	const to = recipientDigits(item.to);
	validateMessage(item.message);
	const preview: Record<string, unknown> = { traceId: item.traceId, to, priority: item.priority, testRun: true, outcome: 'testRun', channel: settings.channel };
	if (settings.rules) {
		const hours = checkHours(nowMs, settings.rules, item.priority);
		preview.businessHours = hours.open ? { open: true } : { open: false, holiday: hours.holiday, nextOpening: hours.nextOpening !== undefined ? isoTime(hours.nextOpening) : undefined };
	}
	preview.request = openChannel(settings.channel, settings).preview(to, item.message);
	return preview;
}
