import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback reverse proxy in front of one stand-in, with faults a run can switch on and off while
 * it goes: a reply that arrives after the caller's timeout (the request WAS carried out), a reply
 * lost after the request was carried out, a 5xx instead of carrying it out, or a first attempt
 * throttled with 429 + Retry-After. With no fault on it only forwards. It counts what it did, so a
 * test can tell "the upstream acted N times" from "the caller saw N answers".
 */
export interface Faults {
	/** Every Nth forwarded request is answered only after `lateReplyMs` (0/absent = off). */
	lateReplyEvery?: number;
	lateReplyMs?: number;
	/** Every Nth forwarded request is carried out, then the connection is dropped unanswered. */
	lostReplyEvery?: number;
	/** Every Nth request is answered 503 without reaching the upstream. */
	serverErrorEvery?: number;
	/** The first request carrying a new value of this header is answered 429 + `retryAfter`. */
	throttleFirstBy?: string;
	retryAfter?: string;
	/** Only requests whose method is this one (default POST) meet a fault. */
	method?: string;
}

export interface FaultCounts {
	forwarded: number;
	lateReplies: number;
	lostReplies: number;
	serverErrors: number;
	throttled: number;
}

export class FaultProxy {
	faults: Faults = {};

	readonly counts: FaultCounts = { forwarded: 0, lateReplies: 0, lostReplies: 0, serverErrors: 0, throttled: 0 };

	private readonly throttledKeys = new Set<string>();

	private seen = 0;

	private readonly server = http.createServer((req, res) => void this.onRequest(req, res));

	private readonly upstream: URL;

	private base = '';

	constructor(upstream: string) {
		this.upstream = new URL(upstream);
	}

	async start(): Promise<this> {
		await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
		this.base = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
		return this;
	}

	get url(): string {
		return this.base;
	}

	/** Replaces the faults (an empty object turns them all off) and restarts the every-Nth count. */
	set(faults: Faults): void {
		this.faults = { ...faults };
		this.seen = 0;
	}

	async close(): Promise<void> {
		this.server.closeAllConnections();
		await new Promise((resolve) => this.server.close(resolve));
	}

	private async onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
		const chunks: Buffer[] = [];
		for await (const chunk of req) chunks.push(chunk as Buffer);
		const body = Buffer.concat(chunks);
		const f = this.faults;
		const faulty = (req.method ?? 'GET') === (f.method ?? 'POST');
		const nth = faulty ? ++this.seen : 0;
		const every = (n?: number) => faulty && n !== undefined && n > 0 && nth % n === 0;

		const key = f.throttleFirstBy ? req.headers[f.throttleFirstBy.toLowerCase()] : undefined;
		if (faulty && typeof key === 'string' && !this.throttledKeys.has(key)) {
			this.throttledKeys.add(key);
			this.counts.throttled++;
			res.writeHead(429, { 'content-type': 'application/json', 'retry-after': f.retryAfter ?? '30' });
			res.end(JSON.stringify({ error: 'throttled by the fault proxy' }));
			return;
		}
		if (every(f.serverErrorEvery)) {
			this.counts.serverErrors++;
			res.writeHead(503, { 'content-type': 'application/json' });
			res.end(JSON.stringify({ error: 'unavailable (fault proxy)' }));
			return;
		}
		const answer = await this.forward(req, body);
		if (every(f.lostReplyEvery)) {
			this.counts.lostReplies++;
			req.socket.destroy();
			return;
		}
		if (every(f.lateReplyEvery) && f.lateReplyMs) {
			this.counts.lateReplies++;
			await new Promise((resolve) => setTimeout(resolve, f.lateReplyMs));
		}
		if (res.destroyed) return;
		res.writeHead(answer.status, answer.headers);
		res.end(answer.body);
	}

	private async forward(req: http.IncomingMessage, body: Buffer): Promise<{ status: number; headers: http.OutgoingHttpHeaders; body: Buffer }> {
		this.counts.forwarded++;
		const headers = { ...req.headers, host: this.upstream.host };
		return await new Promise((resolve, reject) => {
			const out = http.request(
				{ host: this.upstream.hostname, port: this.upstream.port, path: req.url, method: req.method, headers },
				(answer) => {
					const parts: Buffer[] = [];
					answer.on('data', (c: Buffer) => parts.push(c));
					answer.on('end', () => {
						const { connection: _c, 'transfer-encoding': _t, ...kept } = answer.headers;
						resolve({ status: answer.statusCode ?? 502, headers: kept, body: Buffer.concat(parts) });
					});
					answer.on('error', reject);
				},
			);
			out.on('error', reject);
			out.end(body);
		});
	}
}
