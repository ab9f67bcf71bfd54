/**
 * What a WhatsApp Cloud API failure means for the lead, decided by the Graph error code (the HTTP
 * status alone is too coarse: Meta answers 400 for both rate limits and bad templates).
 *
 * retryable      try again later (throughput, pair rate, app/WABA rate, transient server errors)
 * outsideWindow  131047: more than 24 h since the lead last wrote; only a template may be sent
 * permanent      this request will never succeed as written; `fix` says what to change
 * authExpired    190 / HTTP 401: the token is dead; every later send fails too, so stop loudly
 * outcomeUnknown the whole request reached the server and no answer came back (timeout, dropped
 *                connection): the message may be on the phone. The API has no idempotency key,
 *                so it is never sent again on its own; a status webhook or a person settles it
 */
export type GraphFailureKind = 'retryable' | 'outsideWindow' | 'permanent' | 'authExpired' | 'outcomeUnknown';

export interface GraphFailure {
	kind: GraphFailureKind;
	/** Graph error code; undefined for network failures and bodies without one. */
	code?: number;
	subcode?: number;
	httpStatus?: number;
	/** Meta's own message (never holds the token). */
	message: string;
	/** What a user should do about it. */
	fix: string;
	fbtraceId?: string;
	/** 131056: the same recipient was messaged too often; wait before the next message to them. */
	pairRate?: boolean;
}

/** Pair rate: about one message every 6 s to one recipient (small bursts allowed). */
export const PAIR_RATE_INTERVAL_MS = 6_000;

const RETRYABLE: Record<number, string> = {
	1: 'Meta reported an unknown temporary error; the send is retried',
	2: 'Meta reported a temporary service error; the send is retried',
	4: 'The app hit its Graph API call rate limit; sends are retried with backoff',
	80007: 'The WhatsApp Business Account hit its rate limit; sends are retried with backoff',
	130429: 'The business number hit its throughput limit (messages per second); sends are retried with backoff, or lower the rate limit in the business rules',
	131000: 'Meta failed to send for an unknown reason; the send is retried',
	131016: 'The WhatsApp service is temporarily unavailable; the send is retried',
	131056: 'Too many messages to this recipient in a short time (pair rate limit); the next attempt waits at least 6 s',
};

const PERMANENT: Record<number, string> = {
	100: 'A request field is invalid (see the message): check the recipient number, template parameters and button values',
	131026: 'The message cannot be delivered to this number: it is not on WhatsApp, uses an old app version or has not accepted the terms. Check the number or reach the lead another way',
	131047: 'More than 24 hours passed since the lead last wrote: only an approved template can be sent. Set "Fall Back to Template" or send a template',
	131048: 'Meta limited this number for quality reasons (spam rate): lower the volume and review the message quality in WhatsApp Manager',
	131049: 'Meta did not deliver this marketing message to keep engagement healthy: try later or another message',
	131051: 'This message type is not supported',
	132000: 'The number of template parameters does not match the template: give exactly as many header/body parameters as the approved template has placeholders',
	132001: 'The template does not exist in that language (or is not approved yet): check the template name and language code in WhatsApp Manager',
	132005: 'The template text with parameters filled in is too long: shorten the parameter values',
	132007: 'A template parameter breaks the template format policy: check the parameter values',
	132012: 'A template parameter has the wrong format (e.g. text where media is expected)',
	132015: 'The template is paused for low quality: edit it or use another template',
	132016: 'The template is disabled: use another template',
	368: 'The sending account is temporarily blocked for policy violations: see WhatsApp Manager',
};

const AUTH_FIX = 'token expired, renew the access token in the credential';

interface GraphErrorBody {
	error?: { message?: unknown; type?: unknown; code?: unknown; error_subcode?: unknown; fbtrace_id?: unknown; error_data?: { details?: unknown } };
}

const num = (v: unknown) => (typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : undefined);
const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

/** Classifies an error the Graph API returned (any non-2xx response). */
export function classifyGraphError(httpStatus: number, body: unknown): GraphFailure {
	const error = (body as GraphErrorBody | undefined)?.error;
	const code = num(error?.code);
	const details = str(error?.error_data?.details);
	const base = {
		code,
		subcode: num(error?.error_subcode),
		httpStatus,
		fbtraceId: str(error?.fbtrace_id),
		message: [str(error?.message) ?? `HTTP ${httpStatus}`, details].filter(Boolean).join(': '),
	};
	if (code === 190 || httpStatus === 401) return { ...base, kind: 'authExpired', fix: AUTH_FIX };
	if (code !== undefined && RETRYABLE[code]) return { ...base, kind: 'retryable', fix: RETRYABLE[code], pairRate: code === 131056 };
	if (code === 131047) return { ...base, kind: 'outsideWindow', fix: PERMANENT[131047] };
	if (code !== undefined && PERMANENT[code]) return { ...base, kind: 'permanent', fix: PERMANENT[code] };
	if (httpStatus >= 500 || httpStatus === 429 || httpStatus === 408) {
		return { ...base, kind: 'retryable', fix: 'The Graph API is having trouble; the send is retried with backoff' };
	}
	return { ...base, kind: 'permanent', fix: 'The Graph API refused the request; see the message and check the node parameters' };
}

export const UNKNOWN_OUTCOME_FIX =
	'Check the chat with this lead (or wait for its status webhook, which settles it): if the message did not arrive, run the item again with the option "Resend Interrupted Sends" on';

/**
 * Classifies a failure before any response (timeout, refused connection, blocked address). With
 * `requestSent` the server had the whole request: an answer lost after that is an unknown outcome.
 */
export function classifyTransportError(error: { retryable?: boolean; message: string; requestSent?: boolean }): GraphFailure {
	if (error.requestSent) {
		return { kind: 'outcomeUnknown', message: `${error.message} after the request was sent: it may have been delivered`, fix: UNKNOWN_OUTCOME_FIX };
	}
	return error.retryable
		? { kind: 'retryable', message: error.message, fix: 'The Graph API could not be reached; the send is retried with backoff' }
		: { kind: 'permanent', message: error.message, fix: 'Check the Base URL in the credential (internal addresses need "Allow Internal Addresses")' };
}

/** A failure reported later in a status webhook (statuses[].errors[0]). */
export function describeStatusError(error: { code?: unknown; title?: unknown; message?: unknown; error_data?: { details?: unknown } } | undefined): { code?: number; reason: string } {
	if (!error) return { reason: 'WhatsApp reported the message as failed without an error' };
	const code = num(error.code);
	const what = [str(error.title) ?? str(error.message), str(error.error_data?.details)].filter(Boolean).join(': ');
	const fix = code !== undefined ? PERMANENT[code] ?? RETRYABLE[code] : undefined;
	return { code, reason: [code !== undefined ? `${code}` : undefined, what, fix].filter(Boolean).join(' — ') };
}
