import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';

import { assertLiteralAllowed, BlockedAddressError, guardedLookup } from './addresses';
import { classifyStatus, parseRetryAfter, type Verdict } from './retry';

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;
const USER_AGENT = 'n8n-nodes-lead-pipeline';

export interface HttpRequestOptions {
	url: string;
	/** Default POST when a body is given, else GET. */
	method?: string;
	/** Header values may hold secrets: they never appear in errors this module raises. */
	headers?: Record<string, string>;
	/** Serialised with JSON.stringify; sets content-type application/json unless a header gives one. */
	json?: unknown;
	/** Raw body, sent as is (use this when the exact bytes are signed). */
	body?: string | Buffer;
	/** Whole-request budget: DNS + connect + TLS + sending + the complete response. */
	timeoutMs?: number;
	/** Off (default): loopback, private, link-local and metadata addresses are refused. */
	allowInternal?: boolean;
	/** Response bytes kept; the rest is discarded and `bodyTruncated` set. */
	maxResponseBytes?: number;
	/** Cancels the request (e.g. n8n's execution-cancel signal). */
	signal?: AbortSignal;
}

export interface HttpResponse {
	status: number;
	headers: IncomingHttpHeaders;
	body: Buffer;
	bodyTruncated: boolean;
	durationMs: number;
	/** The address actually connected to (after the SSRF check). */
	remoteAddress?: string;
	text(): string;
	/** Parsed JSON body; throws on an empty, truncated or malformed body. */
	json<T = unknown>(): T;
}

export type HttpErrorCode = 'TIMEOUT' | 'NETWORK' | 'BLOCKED_ADDRESS' | 'INVALID_URL' | 'ABORTED';

/**
 * Every failure before a complete response. The message names the method, the URL without
 * query or credentials, and the cause; never a header or body value.
 */
export class HttpRequestError extends Error {
	constructor(
		readonly code: HttpErrorCode,
		message: string,
		readonly durationMs = 0,
		/** The system error code (ECONNREFUSED, ENOTFOUND, …) when there was one. */
		readonly causeCode?: string,
		/**
		 * The whole request was handed to the connection before the failure: the server may have
		 * acted on it (a POST may have created or sent something). False means it never could have.
		 */
		readonly requestSent = false,
	) {
		super(message);
		this.name = 'HttpRequestError';
	}

	/** Network failures and timeouts may succeed next time; a refused address or bad URL will not. */
	get retryable(): boolean {
		return this.code === 'TIMEOUT' || this.code === 'NETWORK';
	}
}

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

/** The URL as it may be shown: origin and path, no user info, no query (tokens live there). */
export function displayUrl(url: URL): string {
	return `${url.protocol}//${url.host}${url.pathname}`;
}

/** The URL a request would go to; HttpRequestError INVALID_URL when it is not absolute http(s). */
export function parseTarget(raw: string): URL {
	let url: URL;
	try {
		url = new URL(raw);
	} catch {
		// URL's own error carries the input, which may hold a token: say what is wrong without it.
		throw new HttpRequestError('INVALID_URL', 'The URL is not a valid absolute URL (expected https://host/path)');
	}
	if (url.protocol !== 'http:' && url.protocol !== 'https:') {
		throw new HttpRequestError('INVALID_URL', `Only http and https URLs are supported, not ${url.protocol}`);
	}
	return url;
}

// ---- connection pool ---------------------------------------------------------------------------

const MAX_POOLED_ORIGINS = 256;
const agents = new Map<string, http.Agent>();

/**
 * One keep-alive agent per origin (and guard mode), shared by every item and execution in this
 * process, so consecutive deliveries to one receiver reuse warm TCP/TLS connections. Idle sockets
 * are unref'd by Node, so the pool never keeps the process alive. Least recently used origins are
 * dropped beyond MAX_POOLED_ORIGINS.
 */
function agentFor(url: URL, allowInternal: boolean): http.Agent {
	const key = `${url.protocol}//${url.host}|${allowInternal ? 'internal' : 'guarded'}`;
	const found = agents.get(key);
	if (found) {
		agents.delete(key);
		agents.set(key, found);
		return found;
	}
	const options: https.AgentOptions = {
		keepAlive: true,
		keepAliveMsecs: 1000,
		maxSockets: 64,
		maxFreeSockets: 64,
		scheduling: 'lifo',
		...(allowInternal ? {} : { lookup: guardedLookup }),
	};
	const agent = url.protocol === 'https:' ? new https.Agent(options) : new http.Agent(options);
	agents.set(key, agent);
	if (agents.size > MAX_POOLED_ORIGINS) {
		const [oldestKey, oldest] = agents.entries().next().value as [string, http.Agent];
		agents.delete(oldestKey);
		oldest.destroy();
	}
	return agent;
}

/** Closes every pooled connection (tests, shutdown). */
export function closeHttpAgents(): void {
	for (const agent of agents.values()) agent.destroy();
	agents.clear();
}

/** Number of origins with a pooled agent (observability, tests). */
export function pooledOrigins(): number {
	return agents.size;
}

// ---- request -----------------------------------------------------------------------------------

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

/**
 * One HTTP request, no redirects followed (a 3xx comes back as a response for the caller to
 * classify), every status returned as a response (only transport failures throw
 * HttpRequestError). Internal addresses are refused after DNS resolution unless allowInternal.
 */
export async function httpRequest(options: HttpRequestOptions): Promise<HttpResponse> {
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
	const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
	const maxBytes = options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
	const transport = url.protocol === 'https:' ? https : http;
	const started = performance.now();
	const elapsed = () => Math.round(performance.now() - started);

	return await new Promise<HttpResponse>((resolve, reject) => {
		let settled = false;
		let failure: HttpRequestError | undefined;
		const finish = (error: HttpRequestError | undefined, response?: HttpResponse) => {
			if (settled) return;
			settled = true;
			clearTimeout(timer);
			options.signal?.removeEventListener('abort', onAbort);
			if (error) reject(error);
			else resolve(response as HttpResponse);
		};
		// Aborting with our own error first means the socket error that follows is ignored.
		// Set when the last request byte went to the socket: from then on a failure leaves the outcome unknown.
		let sent = false;
		const failed = (code: HttpErrorCode, message: string, durationMs: number, causeCode?: string) =>
			new HttpRequestError(code, message, durationMs, causeCode, sent);
		const abortWith = (error: HttpRequestError) => {
			failure = error;
			request.destroy(error);
			finish(error);
		};
		const onAbort = () => abortWith(failed('ABORTED', `${where}: cancelled`, elapsed()));

		let request: http.ClientRequest;
		try {
			request = transport.request(url, { method, headers, agent: agentFor(url, allowInternal) });
		} catch (error) {
			// Invalid header names/values: Node names the header, never its value.
			reject(new HttpRequestError('INVALID_URL', `${where}: ${(error as Error).message}`));
			return;
		}
		const timer = setTimeout(
			() => abortWith(failed('TIMEOUT', `${where}: no complete response within ${timeoutMs} ms`, timeoutMs)),
			timeoutMs,
		);
		if (options.signal?.aborted) return onAbort();
		options.signal?.addEventListener('abort', onAbort, { once: true });

		request.on('error', (error: NodeJS.ErrnoException) => {
			if (failure) return finish(failure);
			if (error instanceof BlockedAddressError) {
				return finish(failed('BLOCKED_ADDRESS', `${where}: ${error.message}`, elapsed()));
			}
			finish(failed('NETWORK', `${where}: ${error.code ?? error.message}`, elapsed(), error.code));
		});
		request.on('finish', () => {
			sent = true;
		});
		request.on('response', (response) => {
			const chunks: Buffer[] = [];
			let size = 0;
			let truncated = false;
			response.on('data', (chunk: Buffer) => {
				if (truncated) return;
				if (size + chunk.length > maxBytes) {
					chunks.push(chunk.subarray(0, maxBytes - size));
					size = maxBytes;
					truncated = true;
					// The rest is unwanted: drop the connection rather than read it off the wire.
					response.destroy();
					done();
					return;
				}
				chunks.push(chunk);
				size += chunk.length;
			});
			const done = () => {
				const bytes = Buffer.concat(chunks, size);
				finish(undefined, {
					status: response.statusCode ?? 0,
					headers: response.headers,
					body: bytes,
					bodyTruncated: truncated,
					durationMs: elapsed(),
					remoteAddress: response.socket?.remoteAddress ?? request.socket?.remoteAddress,
					text: () => bytes.toString('utf8'),
					json: <T>() => {
						if (truncated) throw new Error(`${where}: response body over ${maxBytes} bytes, not parsed`);
						return JSON.parse(bytes.toString('utf8')) as T;
					},
				});
			};
			response.on('end', done);
			response.on('aborted', () => {
				if (!truncated) finish(failed('NETWORK', `${where}: connection closed mid-response`, elapsed()));
			});
			response.on('error', () => {
				if (!truncated) finish(failed('NETWORK', `${where}: connection closed mid-response`, elapsed()));
			});
		});
		request.end(body);
	});
}
