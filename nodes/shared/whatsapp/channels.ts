import { backoffDelay, httpRequest, HttpRequestError, retryAfterOf, withRetries, type BackoffSchedule, type Clock, type HttpResponse } from '../http';
import { classifyGraphError, classifyTransportError, PAIR_RATE_INTERVAL_MS, type GraphFailure } from './graphErrors';

/**
 * The two ways a message leaves: the WhatsApp Cloud API (Graph) and a QR session service. Both go
 * through the pack's one HTTP client and one retry loop; this module only knows the wire contracts.
 */

export type ChannelName = 'cloudApi' | 'qrSession';

export interface CloudApiConfig {
	baseUrl: string;
	version: string;
	phoneNumberId: string;
	accessToken: string;
	allowInternal?: boolean;
	timeoutMs?: number;
}

export interface QrSessionConfig {
	baseUrl: string;
	apiKey: string;
	sessionId: string;
	allowInternal?: boolean;
	timeoutMs?: number;
}

export interface RetryPolicy {
	attempts: number;
	schedule: BackoffSchedule;
	/** Longer waits are not slept in the execution: the item goes to Deferred with sendAfter. */
	maxInlineWaitMs: number;
	clock: Clock;
	random?: () => number;
}

export type ChannelResult =
	| { ok: true; channel: ChannelName; messageId: string; waId?: string; messageStatus?: string; attempts: number; pairRateHit?: boolean }
	| {
			ok: false;
			channel: ChannelName;
			failure: GraphFailure;
			attempts: number;
			/** Some attempt got 131056: the recipient must not be messaged again for a while. */
			pairRateHit?: boolean;
			/** Set when the failure is retryable: when to try again (backoff, Retry-After, pair rate). */
			retryAt?: number;
	  };

interface Attempt {
	verdict: 'success' | 'retryable' | 'permanent';
	retryAfterMs?: number;
	response?: HttpResponse;
	failure?: GraphFailure;
}

const trimSlash = (s: string) => s.replace(/\/+$/, '');

function parseJson(response: HttpResponse): unknown {
	try {
		return response.json();
	} catch {
		return undefined;
	}
}

async function sendWithRetries(
	channel: ChannelName,
	request: () => Promise<HttpResponse>,
	classify: (response: HttpResponse) => GraphFailure,
	policy: RetryPolicy,
	success: (response: HttpResponse) => ChannelResult | GraphFailure,
): Promise<ChannelResult> {
	const outcome = await withRetries<Attempt>(
		async () => {
			let response: HttpResponse;
			try {
				response = await request();
			} catch (error) {
				if (!(error instanceof HttpRequestError)) throw error;
				// A request the server had in full (requestSent) is an unknown outcome, never retried:
				// the API has no idempotency key, so a second POST is a second message on the phone.
				const failure = classifyTransportError(error);
				return { verdict: failure.kind === 'retryable' ? 'retryable' : 'permanent', failure };
			}
			if (response.status >= 200 && response.status < 300) {
				const result = success(response);
				if ('ok' in result) return { verdict: 'success', response };
				return { verdict: 'permanent', failure: result };
			}
			const failure = classify(response);
			const retryAfter = retryAfterOf(response, policy.clock.now());
			// Pair rate: never retry the same recipient sooner than Meta's per-recipient interval.
			const floor = failure.pairRate ? PAIR_RATE_INTERVAL_MS : 0;
			return {
				verdict: failure.kind === 'retryable' ? 'retryable' : 'permanent',
				failure,
				retryAfterMs: Math.max(retryAfter ?? 0, floor) || undefined,
			};
		},
		{ attempts: policy.attempts, schedule: policy.schedule, maxInlineWaitMs: policy.maxInlineWaitMs, clock: policy.clock, random: policy.random },
	);
	const attempts = outcome.attempts.length;
	const last = outcome.attempts[attempts - 1];
	const pairRateHit = outcome.attempts.some((a) => a.failure?.pairRate) || undefined;
	if (outcome.status === 'success') return { ...(success(last.response!) as ChannelResult & { ok: true }), attempts, pairRateHit };
	const failure = last.failure!;
	if (outcome.status === 'deferred') return { ok: false, channel, failure, attempts, retryAt: outcome.nextAttemptAt, pairRateHit };
	if (outcome.status === 'exhausted') {
		// Out of in-execution attempts: hand the item back with the next wait it would have had.
		const wait = Math.max(last.retryAfterMs ?? 0, backoffDelay(policy.schedule, attempts + 1, policy.random));
		return { ok: false, channel, failure, attempts, retryAt: policy.clock.now() + wait, pairRateHit };
	}
	return { ok: false, channel, failure, attempts, pairRateHit };
}

/** POST {base}/{version}/{phone-number-id}/messages with the bearer token. */
export async function sendCloudApi(config: CloudApiConfig, payload: Record<string, unknown>, policy: RetryPolicy, signal?: AbortSignal): Promise<ChannelResult> {
	const url = `${trimSlash(config.baseUrl)}/${config.version}/${encodeURIComponent(config.phoneNumberId)}/messages`;
	return await sendWithRetries(
		'cloudApi',
		async () =>
			await httpRequest({
				url,
				method: 'POST',
				json: payload,
				headers: { authorization: `Bearer ${config.accessToken}` },
				timeoutMs: config.timeoutMs ?? 10_000,
				allowInternal: config.allowInternal,
				signal,
			}),
		(response) => classifyGraphError(response.status, parseJson(response)),
		policy,
		(response) => {
			const body = parseJson(response) as { contacts?: Array<{ wa_id?: string }>; messages?: Array<{ id?: string; message_status?: string }> } | undefined;
			const message = body?.messages?.[0];
			if (!message?.id) {
				return { kind: 'permanent', httpStatus: response.status, message: 'The Graph API answered 2xx without messages[0].id', fix: 'Check the Base URL points at the Graph API' };
			}
			return { ok: true, channel: 'cloudApi', messageId: message.id, waId: body?.contacts?.[0]?.wa_id, messageStatus: message.message_status ?? 'accepted', attempts: 1 };
		},
	);
}

function classifyQr(response: HttpResponse): GraphFailure {
	const body = parseJson(response) as { error?: unknown; message?: unknown } | undefined;
	const said = typeof body?.message === 'string' ? body.message : typeof body?.error === 'string' ? body.error : `HTTP ${response.status}`;
	if (response.status === 401 || response.status === 403) {
		return { kind: 'authExpired', httpStatus: response.status, message: said, fix: 'the QR session service refused the API key: check the API key in the QR session credential' };
	}
	if (response.status >= 500 || response.status === 429 || response.status === 408) {
		return { kind: 'retryable', httpStatus: response.status, message: said, fix: 'The QR session service is having trouble; the send is retried with backoff' };
	}
	return { kind: 'permanent', httpStatus: response.status, message: said, fix: 'The QR session service refused the message; check the number and the session' };
}

const qrHeaders = (config: QrSessionConfig) => ({ authorization: `Bearer ${config.apiKey}` });

/** POST {base}/messages {to, text} → {id}: the QR session contract. */
export async function sendQrSession(config: QrSessionConfig, to: string, text: string, policy: RetryPolicy, signal?: AbortSignal): Promise<ChannelResult> {
	return await sendWithRetries(
		'qrSession',
		async () =>
			await httpRequest({
				url: `${trimSlash(config.baseUrl)}/messages`,
				method: 'POST',
				json: { to, text },
				headers: qrHeaders(config),
				timeoutMs: config.timeoutMs ?? 10_000,
				allowInternal: config.allowInternal,
				signal,
			}),
		classifyQr,
		policy,
		(response) => {
			const id = (parseJson(response) as { id?: unknown } | undefined)?.id;
			if (typeof id !== 'string' || !id) {
				return { kind: 'permanent', httpStatus: response.status, message: 'The QR session service answered 2xx without an id', fix: 'The service must answer POST /messages with {"id": "..."}' };
			}
			return { ok: true, channel: 'qrSession', messageId: id, attempts: 1 };
		},
	);
}

export interface QrSessionStatus {
	id: string;
	status: string;
	connected: boolean;
}

/** GET {base}/sessions/{id} → {id, status}; "connected" means messages can go out. */
export async function qrSessionStatus(config: QrSessionConfig, signal?: AbortSignal): Promise<QrSessionStatus | GraphFailure> {
	let response: HttpResponse;
	try {
		response = await httpRequest({
			url: `${trimSlash(config.baseUrl)}/sessions/${encodeURIComponent(config.sessionId)}`,
			headers: qrHeaders(config),
			timeoutMs: config.timeoutMs ?? 10_000,
			allowInternal: config.allowInternal,
			signal,
		});
	} catch (error) {
		if (!(error instanceof HttpRequestError)) throw error;
		// A GET changes nothing: a lost answer is only a failed check, retried later.
		return classifyTransportError({ retryable: error.retryable, message: error.message });
	}
	if (response.status !== 200) return classifyQr(response);
	const body = parseJson(response) as { id?: unknown; status?: unknown } | undefined;
	const status = typeof body?.status === 'string' ? body.status : 'unknown';
	return { id: String(body?.id ?? config.sessionId), status, connected: status === 'connected' };
}
