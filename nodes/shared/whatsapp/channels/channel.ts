import type { BackoffSchedule, Clock } from '../../http';
import type { GraphFailure } from '../graphErrors';
import type { OutgoingMessage } from '../graphPayload';

/**
 * One way a message leaves for WhatsApp. Every channel answers a send with a ChannelResult and
 * never throws for an HTTP failure: the send flow decides what a failure means for the lead.
 *
 * What a failed result can say (GraphFailure.kind):
 * - retryable: try again later; `retryAt` says when (backoff, Retry-After, pair rate);
 * - permanent: this request never succeeds as written (also: no credential on the node);
 * - authExpired: the channel refused its credential, so every later send fails too;
 * - outsideWindow: only a template may go out now (Cloud API 131047);
 * - outcomeUnknown: the whole request reached the service (requestSent) and its answer was lost,
 *   so the message may be on the phone: never sent again on its own.
 */

export type ChannelName = 'cloudApi' | 'qrSession';

export interface RetryPolicy {
	attempts: number;
	schedule: BackoffSchedule;
	/** Longer waits are not slept in the execution: the item goes to Deferred with sendAfter. */
	maxInlineWaitMs: number;
	clock: Clock;
	random?: () => number;
}

export interface ChannelSent {
	ok: true;
	channel: ChannelName;
	messageId: string;
	waId?: string;
	messageStatus?: string;
	attempts: number;
	pairRateHit?: boolean;
}

export interface ChannelFailed {
	ok: false;
	channel: ChannelName;
	failure: GraphFailure;
	attempts: number;
	/** Some attempt got 131056: the recipient must not be messaged again for a while. */
	pairRateHit?: boolean;
	/** Set when the failure is retryable: when to try again (backoff, Retry-After, pair rate). */
	retryAt?: number;
}

export type ChannelResult = ChannelSent | ChannelFailed;

/** The request a send would make, shown by editor test runs (no HTTP). */
export interface ChannelRequestPreview {
	method: 'POST';
	/** Undefined when the node has no credential for the channel. */
	url?: string;
	body: unknown;
}

export interface WhatsAppChannel {
	readonly name: ChannelName;
	/** How a person names it in a reason ("no WhatsApp Cloud API credential on the node"). */
	readonly label: string;
	/** False when the node has no credential for it: send() then fails permanently, with no request. */
	readonly configured: boolean;
	/** WhatsApp reports this channel's messages in status webhooks, which can settle an unknown outcome. */
	readonly statusWebhooks: boolean;
	/** The error message when the channel refuses its credential (failure kind authExpired). */
	readonly authRefused: string;
	/** Sends one message to `to` (international digits, no +), with the policy's in-run retries. */
	send(to: string, message: OutgoingMessage, policy: RetryPolicy, signal?: AbortSignal): Promise<ChannelResult>;
	preview(to: string, message: OutgoingMessage): ChannelRequestPreview;
}

/** The channel refused its credential (Graph 190 / 401, QR 401/403): every later send fails too. */
export class ChannelAuthError extends Error {
	readonly channel: ChannelName;

	constructor(
		channel: Pick<WhatsAppChannel, 'name' | 'authRefused'>,
		readonly failure: GraphFailure,
	) {
		super(channel.authRefused);
		this.name = 'ChannelAuthError';
		this.channel = channel.name;
	}
}

/** A failed result for a send that made no request (no credential, nothing the channel can carry). */
export function failedWithoutRequest(channel: ChannelName, failure: GraphFailure): ChannelFailed {
	return { ok: false, channel, attempts: 0, failure };
}
