import {
	httpRequest,
	HttpRequestError,
	retryAfterOf,
	systemClock,
	verdictOf,
	withRetries,
	type AttemptResult,
	type BackoffSchedule,
	type Clock,
	type HttpResponse,
} from '../http';
import { CrmDeferredError, CrmOutcomeUnknownError, CrmPermanentError, CrmTransientError, redactSecrets } from './errors';
import { guardedWindow, planLimitFromText, RateLimitQueueFullError, type RateLimiter } from './rateLimiter';

/**
 * Every CRM request goes through here: the credential's rate limiter before each attempt, the
 * pack's HTTP client, inline retries for 429 / 5xx (and for timeouts only when the request is
 * safe to repeat), and one error shape for the node. Nothing here knows a particular CRM: the
 * provider passes how to read its error body.
 */
export interface CrmTransport {
	/** "LeadSquared", "In-house CRM": names the system in error messages. */
	label: string;
	limiter: RateLimiter;
	/** Attempts per request, the first included. */
	attempts: number;
	schedule: BackoffSchedule;
	/** Wait after a 429 that carries no Retry-After (LeadSquared documents none): the plan window. */
	rateLimitWaitMs: number;
	timeoutMs: number;
	/**
	 * The longest wait between attempts (or for a rate-limit slot) spent inside the execution; a
	 * longer one throws CrmDeferredError with the time to try again. Undefined: no bound.
	 */
	maxInlineWaitMs?: number;
	/** The CRM lives on a private network (or a test stand-in on loopback). */
	allowInternal: boolean;
	/** Credential values that must never reach a message. */
	secrets: string[];
	/** The CRM's own error text and type from a non-2xx (or 2xx error) response. */
	readError(response: HttpResponse): { message: string; type?: string } | undefined;
	clock?: Clock;
	signal?: AbortSignal;
}

export interface CrmRequest {
	method: 'GET' | 'POST';
	url: string;
	headers: Record<string, string>;
	json?: unknown;
	/** Safe to send again after a timeout or dropped connection (lookups, idempotency-keyed posts). */
	idempotent: boolean;
	/** Short name of the operation for messages: "lead lookup by phone". */
	what: string;
}

/** A request the CRM could not even be asked (bad URL, refused address): the user must fix settings. */
export class CrmConfigurationError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'CrmConfigurationError';
	}
}

interface Attempt extends AttemptResult {
	response?: HttpResponse;
	error?: HttpRequestError;
}

function errorText(t: CrmTransport, response: HttpResponse): { message: string; type?: string } {
	let read: { message: string; type?: string } | undefined;
	try {
		read = t.readError(response);
	} catch {
		read = undefined;
	}
	const message = read?.message ?? (response.text().slice(0, 500) || `HTTP ${response.status}`);
	return { message: redactSecrets(message, t.secrets), type: read?.type };
}

/**
 * The wait after a 429 without Retry-After. LeadSquared states its plan limit in the text ("…
 * exceeded the limit of 5 in 5 second(s)"): the limiter adopts it, and the wait is that window.
 */
async function rateLimitWait(t: CrmTransport, response: HttpResponse): Promise<number> {
	const stated = planLimitFromText(errorText(t, response).message);
	if (!stated) return t.rateLimitWaitMs;
	await t.limiter.learn?.(stated);
	return guardedWindow(stated.windowMs);
}

/** A rate-limit slot for one request; a wait past the in-run bound defers the request instead. */
async function takeSlot(t: CrmTransport, request: CrmRequest, clock: Clock): Promise<void> {
	try {
		await t.limiter.acquire();
	} catch (error) {
		if (error instanceof RateLimitQueueFullError) throw new CrmDeferredError(`${t.label} ${request.what}: ${error.message}`, clock.now() + error.waitMs);
		throw error;
	}
}

/** A request that failed before any response: which ones may be sent again, which may not. */
function failedSend(t: CrmTransport, request: CrmRequest, error: unknown): Attempt {
	if (!(error instanceof HttpRequestError)) throw error;
	if (!error.retryable) {
		if (error.code === 'ABORTED') throw new CrmTransientError(`${t.label} ${request.what}: ${error.message}`);
		throw new CrmConfigurationError(redactSecrets(`${t.label} ${request.what}: ${error.message}`, t.secrets));
	}
	// A POST that timed out after it was sent may have been carried out: sending it again
	// could create a second record. Give up now; the caller looks the record up before
	// creating. One that never left (refused connection) is safe to send again.
	if (!request.idempotent && error.requestSent) {
		throw new CrmOutcomeUnknownError(redactSecrets(`${t.label} ${request.what}: ${error.message} (the CRM may have received it; the retry looks it up first)`, t.secrets));
	}
	return { verdict: 'retryable', error };
}

/** One attempt: a slot, the request, and whether (and when) to try again. */
async function attemptOnce(t: CrmTransport, request: CrmRequest, clock: Clock): Promise<Attempt> {
	await takeSlot(t, request, clock);
	let response: HttpResponse;
	try {
		response = await httpRequest({
			url: request.url,
			method: request.method,
			headers: request.headers,
			json: request.json,
			timeoutMs: t.timeoutMs,
			allowInternal: t.allowInternal,
			signal: t.signal,
		});
	} catch (error) {
		return failedSend(t, request, error);
	}
	const verdict = verdictOf(response);
	const retryAfterMs = retryAfterOf(response, clock.now()) ?? (response.status === 429 ? await rateLimitWait(t, response) : undefined);
	return { verdict, response, retryAfterMs };
}

/** The parsed body of a successful response; a 2xx that says Status: "Error" is a refusal. */
function successBody<T>(t: CrmTransport, request: CrmRequest, response: HttpResponse): T {
	let body: unknown;
	try {
		body = response.body.length ? response.json() : {};
	} catch {
		throw new CrmTransientError(`${t.label} ${request.what}: the response was not JSON (HTTP ${response.status})`, response.status);
	}
	// LeadSquared can answer 200 with {Status: "Error"}: that is a refusal, not a success.
	if (body && typeof body === 'object' && (body as { Status?: unknown }).Status === 'Error') {
		const { message, type } = errorText(t, response);
		throw new CrmPermanentError(`${t.label} refused the ${request.what}: ${message}`, response.status, message, type);
	}
	return body as T;
}

/** The error for attempts that ended without success: transient when retries ran out, else permanent. */
function failureOf(t: CrmTransport, request: CrmRequest, last: Attempt, tries: number, exhausted: boolean): Error {
	if (last.error) {
		return new CrmTransientError(redactSecrets(`${t.label} ${request.what}: ${last.error.message} (${tries} attempt${tries > 1 ? 's' : ''})`, t.secrets));
	}
	const response = last.response!;
	const { message, type } = errorText(t, response);
	if (exhausted) return new CrmTransientError(`${t.label} ${request.what}: HTTP ${response.status} ${message} (${tries} attempts)`, response.status, message);
	return new CrmPermanentError(`${t.label} refused the ${request.what} (HTTP ${response.status}): ${message}`, response.status, message, type);
}

/** Runs one CRM request to a parsed JSON body, or throws CrmPermanentError / CrmTransientError / CrmConfigurationError. */
export async function crmRequest<T>(t: CrmTransport, request: CrmRequest): Promise<T> {
	const clock = t.clock ?? systemClock;
	const outcome = await withRetries<Attempt>(async () => await attemptOnce(t, request, clock), { attempts: t.attempts, schedule: t.schedule, clock, maxInlineWaitMs: t.maxInlineWaitMs });
	const last = outcome.attempts[outcome.attempts.length - 1];
	if (outcome.status === 'deferred') {
		const seconds = Math.ceil((outcome.nextAttemptAt - clock.now()) / 1000);
		const why = last.response ? `HTTP ${last.response.status}` : (last.error?.message ?? 'failure');
		throw new CrmDeferredError(redactSecrets(`${t.label} ${request.what}: ${why}, next try in ${seconds} s (longer than CRM Sync waits inside an execution)`, t.secrets), outcome.nextAttemptAt);
	}
	if (outcome.status === 'success' && last.response) return successBody<T>(t, request, last.response);
	throw failureOf(t, request, last, outcome.attempts.length, outcome.status === 'exhausted');
}
