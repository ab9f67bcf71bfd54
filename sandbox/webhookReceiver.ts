import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { verifyStandardWebhook, type VerifyResult } from './standardWebhooksVerifier';

/**
 * A loopback stand-in for a customer's webhook endpoint that behaves as receivers using the
 * official Standard Webhooks libraries do: it verifies the signature (independent implementation)
 * and answers 401 when it does not verify. Per path it can fail N times, throttle with
 * Retry-After, say 410 Gone, hang past the sender's timeout or redirect.
 */
export interface PathBehaviour {
	/** Answer `failStatus` (default 500) to the first N deliveries, then 2xx. */
	failTimes?: number;
	failStatus?: number;
	/** Sent with every failing answer (e.g. 429 + "2"). */
	retryAfter?: string;
	/** Always answer this status (410 for a removed endpoint, 400, …). */
	status?: number;
	/** Hold the first N requests open without answering (for timeouts). */
	hangTimes?: number;
	/** Answer 302 to this location. */
	redirectTo?: string;
	/** Answer after this many ms (to observe concurrency). */
	delayMs?: number;
}

export interface Received {
	path: string;
	method: string;
	headers: http.IncomingHttpHeaders;
	body: Buffer;
	verified: VerifyResult;
	at: number;
	answered: number;
}

export class WebhookReceiver {
	readonly received: Received[] = [];
	private readonly behaviours = new Map<string, PathBehaviour>();
	private readonly counts = new Map<string, number>();
	private readonly server: http.Server;
	private readonly hanging = new Set<http.ServerResponse>();
	private inFlight = 0;
	/** Most requests open at once since start. */
	maxInFlight = 0;
	url = '';

	/** `secret` = whsec_…; undefined = accept unsigned requests. */
	constructor(private readonly secret?: string) {
		this.server = http.createServer((req, res) => this.handle(req, res));
		this.server.keepAliveTimeout = 30_000;
	}

	async start(): Promise<this> {
		await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
		this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
		return this;
	}

	async stop(): Promise<void> {
		for (const res of this.hanging) res.destroy();
		this.server.closeAllConnections();
		await new Promise((resolve) => this.server.close(resolve));
	}

	on(path: string, behaviour: PathBehaviour): this {
		this.behaviours.set(path, behaviour);
		this.counts.set(path, 0);
		return this;
	}

	/** Requests that reached `path` (verified or not). */
	to(path: string): Received[] {
		return this.received.filter((r) => r.path === path);
	}

	private handle(req: http.IncomingMessage, res: http.ServerResponse): void {
		const chunks: Buffer[] = [];
		req.on('data', (c: Buffer) => chunks.push(c));
		this.inFlight++;
		this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
		res.on('close', () => this.inFlight--);
		req.on('end', () => {
			const path = (req.url ?? '/').split('?')[0];
			const body = Buffer.concat(chunks);
			const verified: VerifyResult = this.secret ? verifyStandardWebhook(req.headers, body, this.secret) : { ok: true };
			const n = (this.counts.get(path) ?? 0) + 1;
			this.counts.set(path, n);
			const b = this.behaviours.get(path) ?? {};
			const record: Received = { path, method: req.method ?? '', headers: req.headers, body, verified, at: Date.now(), answered: 0 };
			this.received.push(record);
			const answer = (status: number, headers: Record<string, string> = {}, text = '') => {
				const send = () => {
					record.answered = status;
					res.writeHead(status, headers);
					res.end(text);
				};
				if (b.delayMs) setTimeout(send, b.delayMs);
				else send();
			};
			if (b.hangTimes && n <= b.hangTimes) {
				this.hanging.add(res);
				res.on('close', () => this.hanging.delete(res));
				return;
			}
			if (!verified.ok) return answer(401, {}, `signature rejected: ${verified.reason}`);
			if (b.redirectTo) return answer(302, { location: b.redirectTo });
			if (b.status) return answer(b.status, {}, `status ${b.status}`);
			if (b.failTimes && n <= b.failTimes) {
				return answer(b.failStatus ?? 500, b.retryAfter ? { 'retry-after': b.retryAfter } : {}, 'try again');
			}
			answer(200, { 'content-type': 'application/json' }, '{"received":true}');
		});
	}
}
