import { randomUUID } from 'node:crypto';

import type { ChannelFailed } from './channels/channel';
import { contentHash } from './contentHash';
import { ChannelDelivery, type Delivery } from './delivery';
import { PAIR_RATE_INTERVAL_MS } from './graphErrors';
import { recipientDigits, validateMessage } from './graphPayload';
import { isoTime } from './messageLog';
import { closedHours, deferredAnswer, giveBackDaily, takeQuota } from './sendGates';
import { SendLedger } from './sendLedger';
import { describeFailure, type HeldClaim, type SendBase, type SendDeps, type SendItem, type SendResult, type SendSettings } from './sendTypes';

/**
 * One outgoing message from a lead item to an outcome: Sent, Not Sent (outcome "notSent", or
 * "unknown" when the request reached the API and its answer was lost) or Deferred. The order
 * matters: a duplicate answers before any rule (a redelivery is not a new message), hours before
 * the idempotency claim, the claim before counters (only the run that holds it counts), and every
 * exit that sends nothing gives back what it took.
 */

/** A claim being taken: the lease it asks for and when. */
interface ClaimRequest {
	to: string;
	hash: string;
	token: string;
	leaseMs: number;
	now: number;
}

type Route = Record<string, unknown>;

/** Where and how a delivery went, as the fields of an answer. */
const routeOf = (delivery: Delivery): Route => ({
	channel: delivery.result.channel,
	attempts: delivery.attempts,
	...(delivery.sentTemplate ? { sentTemplate: delivery.sentTemplate } : {}),
	...(delivery.fallbackFrom ? { fallbackFrom: delivery.fallbackFrom, fallbackReason: delivery.fallbackReason } : {}),
});

export class WhatsAppSender {
	private readonly delivery: ChannelDelivery;
	private readonly ledger: SendLedger;

	constructor(
		private readonly settings: SendSettings,
		private readonly deps: SendDeps,
	) {
		this.delivery = new ChannelDelivery(settings);
		this.ledger = new SendLedger(settings, deps, this.delivery);
	}

	async send(item: SendItem): Promise<SendResult> {
		const { settings, deps } = this;
		const to = recipientDigits(item.to);
		validateMessage(item.message);
		if (settings.fallbackTemplate) validateMessage(settings.fallbackTemplate);
		const hash = contentHash(to, item.message);
		const base: SendBase = { traceId: item.traceId, to, priority: item.priority, hash };
		const now = deps.clock.now();

		// A recorded send (sent, or outcome unknown) is never sent again, unless a person chose to
		// resend an unknown one ("Resend Interrupted Sends").
		const before = await deps.log.sentBefore(item.traceId, hash);
		const resendUnknown = before !== undefined && settings.resendInterrupted === true && (await deps.log.get(before))?.status === 'UNKNOWN';
		if (before && !resendUnknown) return await this.ledger.duplicate(base, before);
		const closed = closedHours(base, now, settings.rules, item.priority);
		if (closed) return closed;

		const claim = await this.claim(item, base, { to, hash, token: randomUUID(), leaseMs: settings.claimLeaseMs + this.maxSendTime(), now }, resendUnknown ? before : '');
		if ('output' in claim) return claim;
		return await this.sendClaimed(item, base, claim);
	}

	/** Longest time one send can take with its in-execution retries (the claim must outlive it). */
	private maxSendTime(): number {
		const { policy } = this.settings;
		return policy.attempts * ((this.settings.cloudApi?.timeoutMs ?? 10_000) + policy.maxInlineWaitMs);
	}

	/** Claims the send for this run (taking over `takeOver`); else the answer for the item. */
	private async claim(item: SendItem, base: SendBase, request: ClaimRequest, takeOver: string): Promise<HeldClaim | SendResult> {
		const { settings, deps } = this;
		const { hash, token, leaseMs, now } = request;
		let claim = await deps.log.claim(item.traceId, hash, token, leaseMs, settings.idempotencyWindowMs, now, takeOver);
		if (!claim.claimed && claim.interrupted && settings.resendInterrupted) {
			claim = await deps.log.claim(item.traceId, hash, token, leaseMs, settings.idempotencyWindowMs, now, claim.interrupted.claim);
		}
		if (claim.claimed) return { to: request.to, hash, token, claimedAt: now };
		if (claim.messageId) return await this.ledger.duplicate(base, claim.messageId);
		if (claim.interrupted) return await this.interrupted(item, base, request, claim.interrupted);
		return deferredAnswer(base, { reason: 'another run is sending this message right now', sendAfter: isoTime(now + settings.claimLeaseMs) });
	}

	/** With the claim held: the counters, the pair-rate pause, the delivery and its record. */
	private async sendClaimed(item: SendItem, base: SendBase, claim: HeldClaim): Promise<SendResult> {
		const { settings, deps } = this;
		const now = claim.claimedAt;
		const releaseClaim = async () => await deps.log.settleClaim(item.traceId, claim.hash, claim.token, undefined, 0);
		const quota = await takeQuota(deps.counters, base, now, settings.rules, item.priority);
		if (!quota.taken) {
			await releaseClaim();
			return quota.answer;
		}
		const giveBack = async () => {
			await giveBackDaily(deps.counters, now, settings.rules);
			await releaseClaim();
		};
		const paused = await this.pauseForPairRate(base, claim.to, now, giveBack);
		if (paused) return paused;

		let delivery: Delivery;
		try {
			delivery = await this.delivery.deliver(claim.to, item.message);
		} catch (error) {
			await giveBack();
			throw error;
		}
		if (delivery.result.pairRateHit) await deps.counters.markPairRate(claim.to, deps.clock.now() + PAIR_RATE_INTERVAL_MS, deps.clock.now());
		if (delivery.result.ok) {
			await this.ledger.recordSent(item, claim, delivery, delivery.result);
			const warning = quota.warning ? { capacityWarning: quota.warning } : {};
			const { messageId, waId, messageStatus } = delivery.result;
			return { output: 'sent', whatsApp: { ...base, outcome: 'sent', ...routeOf(delivery), wamid: messageId, waId, messageStatus, duplicate: false, ...warning } };
		}
		return await this.notDelivered(item, base, claim, delivery, delivery.result, giveBack);
	}

	/** Sleeps out a short pair-rate wait; a longer one gives everything back and defers the item. */
	private async pauseForPairRate(base: SendBase, to: string, now: number, giveBack: () => Promise<void>): Promise<SendResult | undefined> {
		const { settings, deps } = this;
		const pairWait = await deps.counters.pairRateWait(to, now);
		if (pairWait > settings.policy.maxInlineWaitMs) {
			await giveBack();
			if (settings.rules) await deps.counters.releaseRate(settings.rules);
			return deferredAnswer(base, { reason: 'pair rate: this recipient was messaged too often just now', sendAfter: isoTime(now + pairWait) });
		}
		if (pairWait > 0) await deps.clock.sleep(pairWait);
		return undefined;
	}

	/** A failed delivery: unknown outcome, deferred (retryable) or Not Sent (logged as FAILED). */
	private async notDelivered(item: SendItem, base: SendBase, claim: HeldClaim, delivery: Delivery, result: ChannelFailed, giveBack: () => Promise<void>): Promise<SendResult> {
		const route = routeOf(delivery);
		// The request reached the API and its answer was lost: it may be on the phone. Nothing is
		// given back (the claim now names the UNKNOWN record), so no redelivery sends it again.
		if (result.failure.kind === 'outcomeUnknown') return await this.unknownOutcome(item, base, claim, delivery, result, route);
		await giveBack();
		if (result.retryAt !== undefined) return deferredAnswer(base, { ...route, ...describeFailure(result.failure), sendAfter: isoTime(result.retryAt) });
		const logId = await this.ledger.recordFailed(item, claim, delivery, result);
		return { output: 'notSent', whatsApp: { ...base, outcome: 'notSent', ...route, ...describeFailure(result.failure), logId } };
	}

	/**
	 * Logs an unknown outcome (status UNKNOWN under a local id), holds the claim on it, and settles
	 * it at once if Record Status already kept this recipient's status webhook (it often beats the
	 * client timeout). Otherwise Not Sent with outcome "unknown": a person decides.
	 */
	private async unknownOutcome(item: SendItem, base: SendBase, claim: HeldClaim, delivery: Delivery, result: ChannelFailed, route: Route): Promise<SendResult> {
		const held = await this.ledger.holdUnknown(item, claim, {
			channel: result.channel, attempts: delivery.attempts, fallbackFrom: delivery.fallbackFrom, error: `${result.failure.message} — ${result.failure.fix}`,
		});
		if ('wamid' in held) return { output: 'sent', whatsApp: { ...base, outcome: 'sent', ...route, ...held, settledBy: 'status webhook', duplicate: false } };
		return { output: 'notSent', whatsApp: { ...base, outcome: 'unknown', needsPerson: true, ...route, ...describeFailure(result.failure), logId: held.logId } };
	}

	/**
	 * A run died between claiming and settling (n8n killed mid-send): the POST may have gone out. The
	 * claim is taken over and turned into an UNKNOWN record, like a lost answer, so the log shows it,
	 * a status webhook can settle it, and every later delivery finds it.
	 */
	private async interrupted(item: SendItem, base: SendBase, claim: ClaimRequest, interrupted: { claim: string; leaseEndedAt: number }): Promise<SendResult> {
		const { deps, settings } = this;
		const reason = `an earlier run was interrupted while sending this message (its claim lapsed unsettled at ${isoTime(interrupted.leaseEndedAt)}): WhatsApp may have delivered it, so it is not sent again`;
		const fix = 'Check the chat with this lead; to send it anyway, run it again with the option "Resend Interrupted Sends" on';
		const taken = await deps.log.claim(item.traceId, claim.hash, claim.token, claim.leaseMs, settings.idempotencyWindowMs, claim.now, interrupted.claim);
		if (!taken.claimed) {
			if (taken.messageId) return await this.ledger.duplicate(base, taken.messageId);
			return { output: 'notSent', whatsApp: { ...base, outcome: 'notSent', interrupted: true, needsPerson: true, reason, fix } };
		}
		// The run may have died after logging the message and before settling the claim: then it was sent.
		const logged = await deps.log.loggedFor(item.traceId, claim.hash);
		if (logged) {
			await deps.log.settleClaim(item.traceId, claim.hash, claim.token, logged.id, settings.idempotencyWindowMs);
			return await this.ledger.duplicate(base, logged.id);
		}
		// The lost POST went out after its run claimed it, at the earliest a lease before it lapsed.
		const held = await this.ledger.holdUnknown(item, { ...claim, claimedAt: interrupted.leaseEndedAt - claim.leaseMs }, { channel: settings.channel, attempts: 0, error: reason });
		if ('wamid' in held) return { output: 'sent', whatsApp: { ...base, outcome: 'sent', ...held, settledBy: 'status webhook', duplicate: true } };
		return { output: 'notSent', whatsApp: { ...base, outcome: 'notSent', interrupted: true, needsPerson: true, reason, fix, logId: held.logId } };
	}
}
