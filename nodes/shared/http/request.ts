import type { IncomingHttpHeaders } from 'node:http';

/** What a request is, what comes back, and how it fails: the shapes every file of this wing shares. */

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
