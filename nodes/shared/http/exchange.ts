import http from 'node:http';
import https from 'node:https';
import { performance } from 'node:perf_hooks';

import { BlockedAddressError } from './addresses';
import { agentFor } from './agents';
import { HttpRequestError, type HttpErrorCode, type HttpResponse } from './request';

/** A request checked and encoded by the client, ready to go on the wire. */
export interface PreparedRequest {
	url: URL;
	method: string;
	/** Method and display URL, the prefix of every error message (no query, no credentials). */
	where: string;
	headers: Record<string, string>;
	body?: Buffer;
	timeoutMs: number;
	maxBytes: number;
	allowInternal: boolean;
	signal?: AbortSignal;
}

/** The response body read so far; past maxBytes the rest is dropped and `truncated` set. */
interface BodySoFar {
	chunks: Buffer[];
	size: number;
	truncated: boolean;
}

/**
 * One request's life on the wire: it settles exactly once, with the complete response or the first
 * failure (timeout, cancel, socket error, connection closed mid-response).
 */
export class RequestExchange {
	private readonly started = performance.now();
	private settled = false;
	/** Our own abort reason; set first, so the socket error the abort causes is ignored. */
	private failure: HttpRequestError | undefined;
	/** Set when the last request byte went to the socket: from then on a failure leaves the outcome unknown. */
	private sent = false;
	private timer: NodeJS.Timeout | undefined;
	private request: http.ClientRequest | undefined;

	constructor(
		private readonly prepared: PreparedRequest,
		private readonly resolve: (response: HttpResponse) => void,
		private readonly reject: (error: HttpRequestError) => void,
	) {}

	start(): void {
		const { url, method, headers, allowInternal, timeoutMs, where, signal } = this.prepared;
		const transport = url.protocol === 'https:' ? https : http;
		try {
			this.request = transport.request(url, { method, headers, agent: agentFor(url, allowInternal) });
		} catch (error) {
			// Invalid header names/values: Node names the header, never its value.
			this.reject(new HttpRequestError('INVALID_URL', `${where}: ${(error as Error).message}`));
			return;
		}
		// Listen before anything can destroy the request: a signal already aborted destroys it at
		// once, and a request destroyed with an error and no listener throws it as uncaught.
		this.request.on('error', (error: NodeJS.ErrnoException) => this.onRequestError(error));
		this.request.on('finish', () => {
			this.sent = true;
		});
		this.request.on('response', (response) => this.readResponse(response));
		this.timer = setTimeout(
			() => this.abortWith(this.failed('TIMEOUT', `${where}: no complete response within ${timeoutMs} ms`, timeoutMs)),
			timeoutMs,
		);
		if (signal?.aborted) return this.onAbort();
		signal?.addEventListener('abort', this.onAbort, { once: true });
		this.request.end(this.prepared.body);
	}

	private elapsed(): number {
		return Math.round(performance.now() - this.started);
	}

	private failed(code: HttpErrorCode, message: string, durationMs: number, causeCode?: string): HttpRequestError {
		return new HttpRequestError(code, message, durationMs, causeCode, this.sent);
	}

	private finish(error: HttpRequestError | undefined, response?: HttpResponse): void {
		if (this.settled) return;
		this.settled = true;
		clearTimeout(this.timer);
		this.prepared.signal?.removeEventListener('abort', this.onAbort);
		if (error) this.reject(error);
		else this.resolve(response as HttpResponse);
	}

	private abortWith(error: HttpRequestError): void {
		this.failure = error;
		this.request?.destroy(error);
		this.finish(error);
	}

	// An arrow property: the same function is added to and removed from the signal.
	private readonly onAbort = (): void => this.abortWith(this.failed('ABORTED', `${this.prepared.where}: cancelled`, this.elapsed()));

	private onRequestError(error: NodeJS.ErrnoException): void {
		if (this.failure) return this.finish(this.failure);
		const { where } = this.prepared;
		if (error instanceof BlockedAddressError) {
			return this.finish(this.failed('BLOCKED_ADDRESS', `${where}: ${error.message}`, this.elapsed()));
		}
		this.finish(this.failed('NETWORK', `${where}: ${error.code ?? error.message}`, this.elapsed(), error.code));
	}

	private readResponse(response: http.IncomingMessage): void {
		const { maxBytes, where } = this.prepared;
		const body: BodySoFar = { chunks: [], size: 0, truncated: false };
		const done = () => this.finish(undefined, this.responseOf(response, body));
		response.on('data', (chunk: Buffer) => {
			if (body.truncated) return;
			if (body.size + chunk.length > maxBytes) {
				body.chunks.push(chunk.subarray(0, maxBytes - body.size));
				body.size = maxBytes;
				body.truncated = true;
				// The rest is unwanted: drop the connection rather than read it off the wire.
				response.destroy();
				done();
				return;
			}
			body.chunks.push(chunk);
			body.size += chunk.length;
		});
		response.on('end', done);
		const closedMidResponse = () => {
			if (!body.truncated) this.finish(this.failed('NETWORK', `${where}: connection closed mid-response`, this.elapsed()));
		};
		response.on('aborted', closedMidResponse);
		response.on('error', closedMidResponse);
	}

	private responseOf(response: http.IncomingMessage, body: BodySoFar): HttpResponse {
		const { maxBytes, where } = this.prepared;
		const bytes = Buffer.concat(body.chunks, body.size);
		const truncated = body.truncated;
		return {
			status: response.statusCode ?? 0,
			headers: response.headers,
			body: bytes,
			bodyTruncated: truncated,
			durationMs: this.elapsed(),
			remoteAddress: response.socket?.remoteAddress ?? this.request?.socket?.remoteAddress,
			text: () => bytes.toString('utf8'),
			json: <T>() => {
				if (truncated) throw new Error(`${where}: response body over ${maxBytes} bytes, not parsed`);
				return JSON.parse(bytes.toString('utf8')) as T;
			},
		};
	}
}
