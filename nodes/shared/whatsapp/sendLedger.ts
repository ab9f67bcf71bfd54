import { randomUUID } from 'node:crypto';

import type { ChannelFailed, ChannelName, ChannelSent } from './channels/channel';
import type { ChannelDelivery, Delivery } from './delivery';
import { UNKNOWN_OUTCOME_FIX } from './graphErrors';
import { isoTime, type MessageRecord } from './messageLog';
import type { HeldClaim, SendBase, SendDeps, SendItem, SendResult, SendSettings } from './sendTypes';

/**
 * What the send flow writes to the message log and how it answers from it: a sent message, a
 * failed one, an unknown outcome (held under a local id until a status webhook or a person
 * settles it), and a duplicate (a message the log already has).
 */

/** An UNKNOWN record's facts that differ between a lost answer and an interrupted run. */
export interface UnknownFacts {
	channel: ChannelName;
	attempts: number;
	error: string;
	fallbackFrom?: ChannelName;
}

export type HeldUnknown = { logId: string } | { wamid: string; status?: string };

export class SendLedger {
	constructor(
		private readonly settings: SendSettings,
		private readonly deps: SendDeps,
		private readonly delivery: ChannelDelivery,
	) {}

	/** Logs a sent message (PENDING until its status webhooks) and settles the claim on its id. */
	async recordSent(item: SendItem, claim: HeldClaim, delivery: Delivery, result: ChannelSent): Promise<void> {
		const { deps } = this;
		const at = deps.clock.now();
		await deps.log.record(
			{
				id: result.messageId, traceId: item.traceId, channel: result.channel, to: claim.to, waId: result.waId, hash: claim.hash,
				kind: delivery.sentTemplate ? 'template' : item.message.kind,
				template: delivery.sentTemplate ?? (item.message.kind === 'template' ? item.message.name : undefined),
				status: 'PENDING', attempts: delivery.attempts, createdAt: isoTime(at), updatedAt: isoTime(at), fallbackFrom: delivery.fallbackFrom,
			},
			at,
		);
		await deps.log.settleClaim(item.traceId, claim.hash, claim.token, result.messageId, this.settings.idempotencyWindowMs);
	}

	/** Logs a message that will never go out as written (FAILED under a local id); returns that id. */
	async recordFailed(item: SendItem, claim: Pick<HeldClaim, 'to' | 'hash'>, delivery: Delivery, result: ChannelFailed): Promise<string> {
		const { deps } = this;
		const at = deps.clock.now();
		const localId = `local-${randomUUID()}`;
		await deps.log.record(
			{
				id: localId, traceId: item.traceId, channel: result.channel, to: claim.to, hash: claim.hash, kind: item.message.kind,
				template: item.message.kind === 'template' ? item.message.name : undefined,
				status: 'FAILED', attempts: delivery.attempts, createdAt: isoTime(at), updatedAt: isoTime(at), failedAt: isoTime(at),
				error: `${result.failure.message} — ${result.failure.fix}`, errorCode: result.failure.code, fallbackFrom: delivery.fallbackFrom,
			},
			at,
		);
		return localId;
	}

	/** Records the UNKNOWN, points the claim at it, and settles it if a kept status webhook pairs with it. */
	async holdUnknown(item: SendItem, claim: HeldClaim, what: UnknownFacts): Promise<HeldUnknown> {
		const { deps, settings } = this;
		const logId = `unknown-${randomUUID()}`;
		const at = deps.clock.now();
		await deps.log.recordUnknown(unknownRecord(item, claim, what, logId, at), claim.claimedAt);
		await deps.log.settleClaimUnknown(item.traceId, claim.hash, claim.token, logId, settings.idempotencyWindowMs);
		// Only a channel with status webhooks can have one kept that settles this record.
		if (!this.delivery.channel(what.channel).statusWebhooks) return { logId };
		const match = await deps.log.matchUnknown(claim.to);
		if (!('settle' in match) || match.settle.logId !== logId) return { logId };
		if (!(await deps.log.settleUnknown(logId, match.settle.wamid, deps.clock.now()))) return { logId };
		return { wamid: match.settle.wamid, status: (await deps.log.get(match.settle.wamid))?.status };
	}

	/** The answer for a message the log already has: sent, or an unknown outcome a person settles. */
	async duplicate(base: SendBase, messageId: string): Promise<SendResult> {
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

function unknownRecord(item: SendItem, claim: HeldClaim, what: UnknownFacts, logId: string, at: number): MessageRecord {
	return {
		id: logId, traceId: item.traceId, channel: what.channel, to: claim.to, hash: claim.hash, kind: item.message.kind,
		template: item.message.kind === 'template' ? item.message.name : undefined,
		status: 'UNKNOWN', attempts: what.attempts, createdAt: isoTime(at), updatedAt: isoTime(at), error: what.error, fallbackFrom: what.fallbackFrom,
	};
}
