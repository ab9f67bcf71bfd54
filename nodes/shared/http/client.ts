import { assertLiteralAllowed } from './addresses';
import { RequestExchange, type PreparedRequest } from './exchange';
import { HttpRequestError, displayUrl, parseTarget, type HttpRequestOptions, type HttpResponse } from './request';
import { classifyStatus, parseRetryAfter, type Verdict } from './retry';

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;
const USER_AGENT = 'n8n-nodes-lead-pipeline';

/** Retry verdict for a response or a thrown error (anything not an HttpRequestError is permanent). */
export function verdictOf(outcome: HttpResponse | unknown): Verdict {
	if (outcome instanceof HttpRequestError) return outcome.retryable ? 'retryable' : 'permanent';
	if (outcome && typeof (outcome as HttpResponse).status === 'number' && 'body' in (outcome as object)) {
		return classifyStatus((outcome as HttpResponse).status);
	}
	return 'permanent';
}

/** Retry-After of a response in ms (capped), or undefined. */
export function retryAfterOf(response: HttpResponse, now = Date.now(), capMs?: number): number | undefined {
	return parseRetryAfter(response.headers['retry-after'], now, capMs);
}

function encodeBody(options: HttpRequestOptions, headers: Record<string, string>): Buffer | undefined {
	const has = (name: string) => Object.keys(headers).some((h) => h.toLowerCase() === name);
	let body: Buffer | undefined;
	if (options.body !== undefined) {
		body = Buffer.isBuffer(options.body) ? options.body : Buffer.from(options.body, 'utf8');
	} else if (options.json !== undefined) {
		body = Buffer.from(JSON.stringify(options.json), 'utf8');
		if (!has('content-type')) headers['content-type'] = 'application/json';
	}
	if (body) headers['content-length'] = String(body.length);
	if (!has('user-agent')) headers['user-agent'] = USER_AGENT;
	return body;
}

/** Checks the target (URL, literal address) and encodes headers and body; throws HttpRequestError. */
function prepareRequest(options: HttpRequestOptions): PreparedRequest {
	const url = parseTarget(options.url);
	const allowInternal = options.allowInternal === true;
	const method = (options.method ?? (options.body !== undefined || options.json !== undefined ? 'POST' : 'GET')).toUpperCase();
	const where = `${method} ${displayUrl(url)}`;
	if (!allowInternal) {
		try {
			assertLiteralAllowed(url.hostname);
		} catch (error) {
			throw new HttpRequestError('BLOCKED_ADDRESS', `${where}: ${(error as Error).message}`);
		}
	}
	const headers: Record<string, string> = { ...(options.headers ?? {}) };
	const body = encodeBody(options, headers);
	return {
		url,
		method,
		where,
		headers,
		body,
		timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
		maxBytes: options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
		allowInternal,
		signal: options.signal,
	};
}

/**
 * One HTTP request, no redirects followed (a 3xx comes back as a response for the caller to
 * classify), every status returned as a response (only transport failures throw
 * HttpRequestError). Internal addresses are refused after DNS resolution unless allowInternal.
 */
export async function httpRequest(options: HttpRequestOptions): Promise<HttpResponse> {
	const prepared = prepareRequest(options);
	return await new Promise<HttpResponse>((resolve, reject) => new RequestExchange(prepared, resolve, reject).start());
}
