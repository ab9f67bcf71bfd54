import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Shared plumbing of the loopback stand-ins for third-party APIs: a JSON server that records
 * every request, can be told to fail or stall the next requests to a path, and closes cleanly.
 */
export interface RecordedRequest {
	method: string;
	path: string;
	query: URLSearchParams;
	headers: http.IncomingHttpHeaders;
	body: unknown;
	rawBody: string;
	/** When the whole request had arrived (ms since the epoch, sub-ms precision): latency benchmarks read it. */
	receivedAt: number;
}

export interface Reply {
	status: number;
	body?: unknown;
	headers?: Record<string, string>;
}

interface Fault {
	path: string;
	/** Only requests with this method (default: any). */
	method?: string;
	remaining: number;
	reply?: Reply;
	/** Carry the request out, then wait this long before answering (a response lost to a timeout). */
	delayMs?: number;
}

export class SandboxServer {
	readonly requests: RecordedRequest[] = [];

	private readonly faults: Fault[] = [];

	private readonly server: http.Server;

	private base = '';

	constructor(private readonly handle: (request: RecordedRequest) => Reply | Promise<Reply>) {
		this.server = http.createServer((req, res) => void this.onRequest(req, res));
	}

	async start(): Promise<this> {
		await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
		this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
		return this;
	}

	get url(): string {
		return this.base;
	}

	/** The next `times` requests whose path ends with `path` get `reply` instead of being carried out. */
	failNext(path: string, reply: Reply, times = 1, method?: string): void {
		this.faults.push({ path, remaining: times, reply, method });
	}

	/** The next `times` requests to `path` are carried out, but answered only after `delayMs`. */
	delayNext(path: string, delayMs: number, times = 1, method?: string): void {
		this.faults.push({ path, remaining: times, delayMs, method });
	}

	requestsTo(path: string): RecordedRequest[] {
		return this.requests.filter((r) => r.path.endsWith(path));
	}

	async close(): Promise<void> {
		this.server.closeAllConnections();
		await new Promise((resolve) => this.server.close(resolve));
	}

	private async onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
		const chunks: Buffer[] = [];
		for await (const chunk of req) chunks.push(chunk as Buffer);
		const receivedAt = performance.timeOrigin + performance.now();
		const rawBody = Buffer.concat(chunks).toString('utf8');
		const url = new URL(req.url ?? '/', 'http://sandbox');
		let body: unknown;
		try {
			body = rawBody ? JSON.parse(rawBody) : undefined;
		} catch {
			body = Symbol.for('invalid-json');
		}
		const request: RecordedRequest = { method: req.method ?? 'GET', path: url.pathname, query: url.searchParams, headers: req.headers, body, rawBody, receivedAt };
		this.requests.push(request);
		const fault = this.faults.find((f) => f.remaining > 0 && request.path.endsWith(f.path) && (!f.method || f.method === request.method));
		if (fault) fault.remaining--;
		let reply: Reply;
		if (fault?.reply) {
			reply = fault.reply;
		} else {
			reply = await this.handle(request);
			if (fault?.delayMs) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
		}
		if (res.destroyed) return;
		res.writeHead(reply.status, { 'content-type': 'application/json', ...(reply.headers ?? {}) });
		res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
	}
}

/** At most `limit` requests per key in any `windowMs` (the way LeadSquared counts its plan limit). */
export class SlidingWindow {
	private readonly seen = new Map<string, number[]>();

	/** Calls refused with 429 so far. */
	rejected = 0;

	constructor(
		public limit: number,
		public windowMs: number,
	) {}

	/** Records the call and says whether it is within the limit. */
	allow(key: string, now = Date.now()): boolean {
		const recent = (this.seen.get(key) ?? []).filter((t) => t > now - this.windowMs);
		const ok = recent.length < this.limit;
		if (ok) recent.push(now);
		else this.rejected++;
		this.seen.set(key, recent);
		return ok;
	}
}
