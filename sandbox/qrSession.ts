import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback QR session service implementing the pack's documented minimal contract:
 *   POST /messages {to: "+<digits>", text} → 201 {id}
 *   GET  /sessions/{id} → 200 {id, status: "connected" | "qr" | "disconnected"}
 * every request with `Authorization: Bearer <api key>` (401 otherwise).
 */
export interface QrSandbox {
	url: string;
	apiKey: string;
	sessionId: string;
	/** Status GET /sessions/{sessionId} reports. */
	status: string;
	requests: Array<{ method?: string; path?: string; headers: http.IncomingHttpHeaders; body: unknown; id?: string }>;
	/**
	 * The next answers to POST /messages, consumed in order (then 'ok'): 'http500' refuses with a
	 * 500; 'acceptThenHang' accepts the message and answers only after `hangMs` (default 1500);
	 * 'acceptThenDrop' accepts it and drops the connection before answering.
	 */
	script(answers: QrAnswer[]): void;
	hangMs?: number;
	close(): Promise<void>;
}

export type QrAnswer = 'ok' | 'http500' | 'acceptThenHang' | 'acceptThenDrop';

export async function startQrSandbox(options: { apiKey?: string; sessionId?: string } = {}): Promise<QrSandbox> {
	const sandbox = {
		apiKey: options.apiKey ?? `qr_${randomBytes(16).toString('hex')}`,
		sessionId: options.sessionId ?? 'sales',
		status: 'connected',
		requests: [],
		url: '',
	} as unknown as QrSandbox;
	const answers: QrAnswer[] = [];
	const timers = new Set<NodeJS.Timeout>();
	sandbox.script = (next) => answers.push(...next);
	const server = http.createServer((req, res) => {
		const chunks: Buffer[] = [];
		req.on('data', (c: Buffer) => chunks.push(c));
		req.on('end', () => {
			let body: unknown;
			try {
				body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
			} catch {
				body = undefined;
			}
			const entry: QrSandbox['requests'][number] = { method: req.method, path: req.url, headers: req.headers, body };
			sandbox.requests.push(entry);
			const reply = (status: number, json: unknown) => {
				res.writeHead(status, { 'content-type': 'application/json' });
				res.end(JSON.stringify(json));
			};
			if (req.headers.authorization !== `Bearer ${sandbox.apiKey}`) return reply(401, { error: 'invalid api key' });
			if (req.method === 'GET' && req.url === `/sessions/${sandbox.sessionId}`) return reply(200, { id: sandbox.sessionId, status: sandbox.status });
			if (req.method === 'GET' && req.url?.startsWith('/sessions/')) return reply(404, { error: 'no such session' });
			if (req.method === 'POST' && req.url === '/messages') {
				const b = body as { to?: unknown; text?: unknown } | undefined;
				if (typeof b?.to !== 'string' || !/^\+\d{6,15}$/.test(b.to)) return reply(400, { error: 'to must be +<digits>' });
				if (typeof b.text !== 'string' || !b.text) return reply(400, { error: 'text must be a non-empty string' });
				if (sandbox.status !== 'connected') return reply(409, { error: `session is ${sandbox.status}` });
				const next = answers.shift() ?? 'ok';
				if (next === 'http500') return reply(500, { error: 'internal error' });
				entry.id = `qr-${randomBytes(8).toString('hex')}`;
				if (next === 'acceptThenDrop') return void req.socket.destroy();
				if (next === 'acceptThenHang') {
					const timer = setTimeout(() => {
						timers.delete(timer);
						if (!res.destroyed) reply(201, { id: entry.id });
					}, sandbox.hangMs ?? 1500);
					timers.add(timer);
					return;
				}
				return reply(201, { id: entry.id });
			}
			reply(404, { error: 'not found' });
		});
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	sandbox.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
	sandbox.close = async () => {
		for (const timer of timers) clearTimeout(timer);
		server.closeAllConnections();
		await new Promise((resolve) => server.close(resolve));
	};
	return sandbox;
}
