import { createHash } from 'node:crypto';

import {
	assertLiteralAllowed,
	DEFAULT_TIMEOUT_MS,
	displayUrl,
	httpRequest,
	HttpRequestError,
	parseTarget,
	retryAfterOf,
	systemClock,
	verdictOf,
	withRetries,
	type BackoffSchedule,
	type Clock,
	type HttpRequestOptions,
	type HttpResponse,
	type Verdict,
} from '../http';
import { standardWebhookHeaders, webhookIdFor } from './standardWebhooks';

/**
 * One webhook delivery: a JSON event POSTed (or PUT) to a customer URL, signed per Standard
 * Webhooks, retried on the pack's retry rules. Everything a later attempt needs (in another
 * execution, after a trip through the retry queue) travels in a DeliveryEnvelope.
 */

/** Marks an item or stream message as a delivery in flight (retry queue, DLQ). */
export const ENVELOPE_MARKER = 'webhookDelivery';

export interface AttemptRecord {
	attempt: number;
	/** ISO time the attempt started. */
	at: string;
	/** HTTP status; absent when no response came (network error, timeout, refused address). */
	status?: number;
	error?: string;
	durationMs: number;
	verdict: Verdict;
	/** Present on 3xx: where the receiver pointed (not followed). */
	location?: string;
	/** Start of the response body, for the person reviewing a failure. */
	responseBody?: string;
}

export interface DeliveryEnvelope {
	[ENVELOPE_MARKER]: 1;
	webhookId: string;
	traceId?: string;
	eventType: string;
	url: string;
	method: 'POST' | 'PUT';
	payload: unknown;
	/** Extra (non-secret) headers from the node parameters. */
	headers: Record<string, string>;
	/** Attempt number the next try carries. */
	nextAttempt: number;
	/** Epoch ms before which the next attempt must not run. */
	notBefore?: number;
	/** Earlier attempts, from earlier executions. */
	attempts: AttemptRecord[];
}

export function isEnvelope(value: unknown): value is DeliveryEnvelope {
	const v = value as Partial<DeliveryEnvelope> | undefined;
	return !!v && typeof v === 'object' && v[ENVELOPE_MARKER] === 1 && typeof v.url === 'string' && typeof v.webhookId === 'string';
}

/**
 * The webhook-id: from traceId + event when the item has a traceId; otherwise from event + body,
 * which is still stable for a redelivered copy of the same item.
 */
export function deliveryIdFor(traceId: string | undefined, eventType: string, body: string): string {
	if (traceId) return webhookIdFor(traceId, eventType);
	return webhookIdFor(`body:${createHash('sha256').update(body).digest('hex')}`, eventType);
}

/** What a caller says about a new delivery; the id, marker and attempt state are the envelope's own. */
export type NewDelivery = Pick<DeliveryEnvelope, 'traceId' | 'eventType' | 'url' | 'method' | 'payload' | 'headers'>;

export function newEnvelope(input: NewDelivery): DeliveryEnvelope {
	const body = JSON.stringify(input.payload ?? null);
	return {
		[ENVELOPE_MARKER]: 1,
		webhookId: deliveryIdFor(input.traceId, input.eventType, body),
		...input,
		nextAttempt: 1,
		attempts: [],
	};
}

/**
 * Inline waits. A wait between attempts inside an execution keeps the consumer's batch unacked;
 * past the consumer's claim timeout (Max Execution Time) the batch is claimed again and runs a
 * second time beside the first. So every inline wait is short and bounded: a longer one ends the
 * delivery's part in this execution (parked in the retry queue, or Failed when there is none).
 */
export const DEFAULT_INLINE_WAIT_MS = 5_000;
export const MAX_INLINE_WAIT_MS = 30_000;

/** Why a Max Wait in Execution setting is refused, or undefined when it is within the bound. */
export function inlineWaitProblem(ms: number): string | undefined {
	if (!Number.isFinite(ms) || ms < 0) return `Max Wait in Execution must be a number of milliseconds ≥ 0, not ${ms}`;
	if (ms > MAX_INLINE_WAIT_MS) return `Max Wait in Execution is ${ms} ms; at most ${MAX_INLINE_WAIT_MS} ms is allowed`;
	return undefined;
}

export interface DeliverySettings {
	/** Total attempts across every execution, including the first. */
	attempts: number;
	schedule: BackoffSchedule;
	timeoutMs?: number;
	allowInternal?: boolean;
	/** Decoded signing keys, current first; empty = unsigned. */
	signingKeys: Buffer[];
	/** Secret headers from the credential (e.g. Authorization); never copied into records. */
	secretHeaders?: Record<string, string>;
	/** A wait longer than this ends the execution's part: outcome `deferred`. */
	maxInlineWaitMs?: number;
	/** Cap on a server's Retry-After. */
	retryAfterCapMs?: number;
	clock?: Clock;
	random?: () => number;
	signal?: AbortSignal;
	/** The transport; tests and benchmarks keep the default. */
	send?: (options: HttpRequestOptions) => Promise<HttpResponse>;
}

export type DeliveryOutcome =
	| { result: 'delivered'; status: number; attempts: AttemptRecord[]; durationMs: number }
	| { result: 'failed'; reason: 'gone' | 'permanent' | 'exhausted'; attempts: AttemptRecord[]; durationMs: number }
	| { result: 'deferred'; attempts: AttemptRecord[]; nextAttempt: number; notBefore: number; durationMs: number };

const RESERVED = new Set(['webhook-id', 'webhook-timestamp', 'webhook-signature', 'x-webhook-event', 'x-webhook-id', 'x-webhook-attempt', 'content-type', 'content-length']);

/** Extra headers minus the ones the delivery itself sets (those cannot be overridden). */
export function extraHeaders(headers: Record<string, string>): Record<string, string> {
	return Object.fromEntries(Object.entries(headers).filter(([name]) => !RESERVED.has(name.toLowerCase())));
}

const RESPONSE_SNIPPET = 500;

/** The headers of one attempt, as sent: signed afresh for its own timestamp. */
function attemptHeaders(envelope: DeliveryEnvelope, settings: DeliverySettings, attempt: number, atMs: number, body: string): Record<string, string> {
	return {
		...extraHeaders(envelope.headers),
		...(settings.secretHeaders ?? {}),
		'content-type': 'application/json',
		'x-webhook-event': envelope.eventType,
		'x-webhook-id': envelope.webhookId,
		'x-webhook-attempt': String(attempt),
		...(settings.signingKeys.length ? standardWebhookHeaders({ id: envelope.webhookId, timestamp: Math.floor(atMs / 1000), body, keys: settings.signingKeys }) : {}),
	};
}

/** Shown instead of a credential header's value in a preview. */
export const HIDDEN_HEADER_VALUE = '(hidden: from the Webhook Signing credential)';

export interface DeliveryRequestPreview {
	/** Origin and path only: a query or user info may hold a token. */
	url: string;
	method: 'POST' | 'PUT';
	headers: Record<string, string>;
	/** The payload; the body sent is its JSON text, over which the signature is computed. */
	body: unknown;
}

export type DeliveryPreview = { ok: true; request: DeliveryRequestPreview } | { ok: false; error: string };

/**
 * The request the envelope's next attempt would make, for editor test runs: nothing is sent. The
 * signature is real (an HMAC reveals no key), so a receiver's check can be tried against it; a
 * credential header keeps its name and loses its value. A URL the client would refuse without
 * connecting (not absolute http(s), an internal IP literal) is an error here too; names that
 * resolve to internal addresses are only found by a real send.
 */
export function previewDelivery(envelope: DeliveryEnvelope, settings: DeliverySettings, nowMs: number): DeliveryPreview {
	let url: URL;
	try {
		url = parseTarget(envelope.url);
		if (!settings.allowInternal) assertLiteralAllowed(url.hostname);
	} catch (error) {
		return { ok: false, error: (error as Error).message };
	}
	const headers = attemptHeaders(envelope, settings, envelope.nextAttempt, nowMs, JSON.stringify(envelope.payload ?? null));
	for (const name of Object.keys(settings.secretHeaders ?? {})) headers[name] = HIDDEN_HEADER_VALUE;
	return { ok: true, request: { url: displayUrl(url), method: envelope.method, headers, body: envelope.payload ?? null } };
}

type TimedAttempt = AttemptRecord & { retryAfterMs?: number };

/** What a non-success response tells the user: a snippet of its body, why it failed, Retry-After. */
function explainFailedResponse(record: TimedAttempt, response: HttpResponse, settings: DeliverySettings, nowMs: number): void {
	const text = response.text().slice(0, RESPONSE_SNIPPET);
	if (text) record.responseBody = text;
	if (response.status >= 300 && response.status < 400) {
		record.location = String(response.headers.location ?? '');
		record.error = `redirect ${response.status} not followed`;
	} else if (response.status === 410) {
		record.error = 'endpoint gone (410): the receiver removed this webhook URL';
	} else {
		record.error = `HTTP ${response.status}`;
	}
	const retryAfter = retryAfterOf(response, nowMs, settings.retryAfterCapMs);
	if (retryAfter !== undefined && record.verdict === 'retryable') record.retryAfterMs = retryAfter;
}

/** One signed attempt: its own timestamp and signature over the same body bytes. */
async function attemptOnce(envelope: DeliveryEnvelope, settings: DeliverySettings, body: string, attempt: number): Promise<TimedAttempt> {
	const clock = settings.clock ?? systemClock;
	const send = settings.send ?? httpRequest;
	const at = clock.now();
	const headers = attemptHeaders(envelope, settings, attempt, at, body);
	try {
		const response = await send({
			url: envelope.url,
			method: envelope.method,
			headers,
			body,
			timeoutMs: settings.timeoutMs ?? DEFAULT_TIMEOUT_MS,
			allowInternal: settings.allowInternal,
			maxResponseBytes: 16 * 1024,
			signal: settings.signal,
		});
		const verdict = verdictOf(response);
		const record: TimedAttempt = { attempt, at: new Date(at).toISOString(), status: response.status, durationMs: response.durationMs, verdict };
		if (verdict !== 'success') explainFailedResponse(record, response, settings, clock.now());
		return record;
	} catch (error) {
		const known = error instanceof HttpRequestError;
		return {
			attempt,
			at: new Date(at).toISOString(),
			error: known ? error.message : `unexpected: ${(error as Error).message}`,
			durationMs: known ? error.durationMs : clock.now() - at,
			verdict: verdictOf(error),
		};
	}
}

/** The envelope's attempt log with this run's attempts appended (Retry-After is not kept). */
function attemptLog(envelope: DeliveryEnvelope, records: TimedAttempt[]): AttemptRecord[] {
	return [
		...envelope.attempts,
		...records.map((record) => {
			const copy = { ...record };
			delete copy.retryAfterMs;
			return copy as AttemptRecord;
		}),
	];
}

/**
 * Runs the envelope's remaining attempts. Each attempt is signed afresh (its own timestamp) over
 * the same body bytes with the same webhook-id.
 */
export async function deliver(envelope: DeliveryEnvelope, settings: DeliverySettings): Promise<DeliveryOutcome> {
	const clock = settings.clock ?? systemClock;
	const body = JSON.stringify(envelope.payload ?? null);
	const started = clock.now();
	const outcome = await withRetries(async (attempt: number) => await attemptOnce(envelope, settings, body, attempt), {
		attempts: settings.attempts,
		firstAttempt: envelope.nextAttempt,
		schedule: settings.schedule,
		maxInlineWaitMs: settings.maxInlineWaitMs,
		clock,
		random: settings.random,
	});
	const attempts = attemptLog(envelope, outcome.attempts);
	const durationMs = clock.now() - started;
	switch (outcome.status) {
		case 'success':
			return { result: 'delivered', status: attempts[attempts.length - 1].status as number, attempts, durationMs };
		case 'deferred':
			return { result: 'deferred', attempts, nextAttempt: outcome.nextAttempt, notBefore: outcome.nextAttemptAt, durationMs };
		default:
			return { result: 'failed', reason: outcome.status, attempts, durationMs };
	}
}
