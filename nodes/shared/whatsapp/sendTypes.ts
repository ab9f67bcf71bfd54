import type { Clock } from '../http';
import type { ChannelName, RetryPolicy } from './channels/channel';
import type { CloudApiConfig } from './channels/cloudApi';
import type { QrSessionConfig } from './channels/qrSession';
import type { GraphFailure } from './graphErrors';
import type { OutgoingMessage, TemplateMessage } from './graphPayload';
import type { MessageLog } from './messageLog';
import type { OutreachCounters, OutreachRules, Priority } from './outreachRules';

/** The shapes the send flow takes and gives (see sendFlow.ts for the order of its steps). */

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

/** What every answer about one item starts with. */
export interface SendBase {
	traceId: string;
	to: string;
	priority: Priority;
	hash: string;
	[field: string]: unknown;
}

/** A claim this run holds: enough to turn it into an UNKNOWN record. */
export interface HeldClaim {
	to: string;
	hash: string;
	token: string;
	/** When the send could first have gone out (for pairing it with a status webhook). */
	claimedAt: number;
}

/** A failure as the fields of an answer. */
export const describeFailure = (f: GraphFailure) => ({ reason: f.message, fix: f.fix, ...(f.code !== undefined ? { errorCode: f.code } : {}) });
