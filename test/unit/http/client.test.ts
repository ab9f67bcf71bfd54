import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { closeHttpAgents, httpRequest, HttpRequestError, verdictOf, retryAfterOf } from '../../../nodes/shared/http';

/** A loopback server whose handler each test sets; counts TCP connections to prove reuse. */
let handler: http.RequestListener = (_req, res) => res.end('ok');
let connections = 0;
const received: Array<{ method?: string; url?: string; headers: http.IncomingHttpHeaders; body: string }> = [];
const server = http.createServer((req, res) => {
	const chunks: Buffer[] = [];
	req.on('data', (c: Buffer) => chunks.push(c));
	req.on('end', () => {
		received.push({ method: req.method, url: req.url, headers: req.headers, body: Buffer.concat(chunks).toString() });
		handler(req, res);
	});
});
server.on('connection', () => connections++);
let base = '';
const SECRET = 'Bearer sk_live_TOPSECRET_123';

beforeAll(async () => {
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
	closeHttpAgents();
	server.closeAllConnections();
	await new Promise((resolve) => server.close(resolve));
});
beforeEach(() => {
	handler = (_req, res) => res.end('ok');
	received.length = 0;
});

const allowed = { allowInternal: true };

test('sends JSON with content-type and length, returns status, headers and body', async () => {
	handler = (_req, res) => {
		res.writeHead(201, { 'content-type': 'application/json', 'x-thing': 'y' });
		res.end('{"id":7}');
	};
	const res = await httpRequest({ ...allowed, url: `${base}/hooks?a=1`, method: 'put', json: { lead: 'Ann' }, headers: { 'X-Custom': 'v' } });
	expect(res.status).toBe(201);
	expect(res.json()).toEqual({ id: 7 });
	expect(res.headers['x-thing']).toBe('y');
	expect(res.remoteAddress).toBe('127.0.0.1');
	expect(verdictOf(res)).toBe('success');
	const [seen] = received;
	expect(seen).toMatchObject({ method: 'PUT', url: '/hooks?a=1', body: '{"lead":"Ann"}' });
	expect(seen.headers).toMatchObject({ 'content-type': 'application/json', 'content-length': '14', 'x-custom': 'v' });
});

test('a raw body is sent byte for byte; a caller content-type is kept', async () => {
	await httpRequest({ ...allowed, url: base, body: '{"b": 1,  "a":2}', headers: { 'Content-Type': 'application/vnd.x+json' } });
	expect(received[0]).toMatchObject({ method: 'POST', body: '{"b": 1,  "a":2}' });
	expect(received[0].headers['content-type']).toBe('application/vnd.x+json');
});

test('keep-alive: sequential and concurrent requests to one origin reuse pooled connections', async () => {
	await httpRequest({ ...allowed, url: base });
	const before = connections;
	for (let i = 0; i < 20; i++) await httpRequest({ ...allowed, url: `${base}/${i}`, json: { i } });
	expect(connections).toBe(before);
	await Promise.all(Array.from({ length: 10 }, (_, i) => httpRequest({ ...allowed, url: `${base}/p${i}` })));
	const afterBurst = connections;
	expect(afterBurst - before).toBeLessThanOrEqual(10);
	await Promise.all(Array.from({ length: 10 }, (_, i) => httpRequest({ ...allowed, url: `${base}/q${i}` })));
	expect(connections).toBe(afterBurst);
});

test('redirects are not followed: the 3xx is the response, classified permanent', async () => {
	handler = (req, res) => {
		if (req.url === '/old') {
			res.writeHead(302, { location: '/new' });
			res.end();
		} else {
			res.end('landed');
		}
	};
	const res = await httpRequest({ ...allowed, url: `${base}/old`, json: {} });
	expect(res.status).toBe(302);
	expect(res.headers.location).toBe('/new');
	expect(verdictOf(res)).toBe('permanent');
	expect(received.map((r) => r.url)).toEqual(['/old']);
});

test('429 with Retry-After is retryable and the wait is read', async () => {
	handler = (_req, res) => {
		res.writeHead(429, { 'retry-after': '3' });
		res.end();
	};
	const res = await httpRequest({ ...allowed, url: base });
	expect(verdictOf(res)).toBe('retryable');
	expect(retryAfterOf(res)).toBe(3000);
});

test('timeout covers a server that accepts and never answers; the error is retryable and has no secrets', async () => {
	handler = () => undefined;
	const started = Date.now();
	const error = await httpRequest({
		...allowed,
		url: `${base}/slow?token=qs_SECRET_999`,
		headers: { Authorization: SECRET },
		timeoutMs: 300,
	}).catch((e: unknown) => e);
	expect(Date.now() - started).toBeLessThan(2000);
	expect(error).toBeInstanceOf(HttpRequestError);
	expect(error).toMatchObject({ code: 'TIMEOUT', retryable: true });
	expect(verdictOf(error)).toBe('retryable');
	expect(String((error as Error).message)).toContain('/slow');
	const dump = JSON.stringify(error) + String((error as Error).message) + String((error as Error).stack);
	expect(dump).not.toContain('TOPSECRET');
	expect(dump).not.toContain('qs_SECRET');
});

test('timeout covers a response whose body never finishes', async () => {
	handler = (_req, res) => {
		res.writeHead(200);
		res.write('partial');
	};
	await expect(httpRequest({ ...allowed, url: base, timeoutMs: 300 })).rejects.toMatchObject({ code: 'TIMEOUT' });
});

test('connection refused is a retryable NETWORK error', async () => {
	const dead = http.createServer();
	await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
	const port = (dead.address() as AddressInfo).port;
	await new Promise((resolve) => dead.close(resolve));
	const error = await httpRequest({ ...allowed, url: `http://127.0.0.1:${port}/`, headers: { Authorization: SECRET } }).catch((e) => e);
	expect(error).toMatchObject({ code: 'NETWORK', causeCode: 'ECONNREFUSED', retryable: true });
	expect(String(error.message)).not.toContain('TOPSECRET');
});

test('an oversized body is truncated, not an error; json() refuses it', async () => {
	handler = (_req, res) => res.end('x'.repeat(5000));
	const res = await httpRequest({ ...allowed, url: base, maxResponseBytes: 100 });
	expect(res.status).toBe(200);
	expect(res.bodyTruncated).toBe(true);
	expect(res.body.length).toBe(100);
	expect(() => res.json()).toThrow(/over 100 bytes/);
});

test('an aborted signal cancels the request', async () => {
	handler = () => undefined;
	const controller = new AbortController();
	const pending = httpRequest({ ...allowed, url: base, signal: controller.signal });
	setTimeout(() => controller.abort(), 50);
	await expect(pending).rejects.toMatchObject({ code: 'ABORTED', retryable: false });
});

// A signal cancelled before the call (an execution already stopped) used to destroy the request
// before its error listener was attached: the socket error escaped as an uncaught exception.
test('a signal aborted before the call rejects ABORTED and nothing escapes as an uncaught error', async () => {
	const uncaught: unknown[] = [];
	const onUncaught = (error: unknown) => uncaught.push(error);
	process.on('uncaughtException', onUncaught);
	try {
		const controller = new AbortController();
		controller.abort();
		await expect(httpRequest({ ...allowed, url: base, signal: controller.signal })).rejects.toMatchObject({ code: 'ABORTED', retryable: false });
		await new Promise((r) => setTimeout(r, 100));
		expect(uncaught).toEqual([]);
	} finally {
		process.off('uncaughtException', onUncaught);
	}
});

test('invalid URLs are refused without echoing them', async () => {
	const error = await httpRequest({ url: 'not a url sk_live_TOPSECRET' }).catch((e) => e);
	expect(error).toMatchObject({ code: 'INVALID_URL', retryable: false });
	expect(error.message).not.toContain('TOPSECRET');
	await expect(httpRequest({ url: 'file:///etc/passwd' })).rejects.toMatchObject({ code: 'INVALID_URL' });
});

describe('SSRF guard (internal addresses not allowed)', () => {
	test.each([
		['loopback literal', () => `${base}/x`],
		['localhost (a name resolving to loopback)', () => base.replace('127.0.0.1', 'localhost') + '/x'],
		['private 10.x', () => 'http://10.20.30.40/x'],
		['metadata 169.254.169.254', () => 'http://169.254.169.254/latest/meta-data/'],
		['IPv6 loopback', () => 'http://[::1]:9/x'],
		['IPv4-mapped loopback', () => 'http://[::ffff:127.0.0.1]:9/x'],
		['0.0.0.0', () => 'http://0.0.0.0:9/x'],
		['decimal-encoded loopback', () => 'http://2130706433:9/x'],
	])('%s is refused before any request reaches it', async (_label, url) => {
		const error = await httpRequest({ url: url(), json: { a: 1 }, headers: { Authorization: SECRET }, timeoutMs: 2000 }).catch((e) => e);
		expect(error).toBeInstanceOf(HttpRequestError);
		expect(error).toMatchObject({ code: 'BLOCKED_ADDRESS', retryable: false });
		expect(error.message).toMatch(/internal/);
		expect(error.message).not.toContain('TOPSECRET');
		expect(received).toHaveLength(0);
	});

	test('allowInternal reaches the same loopback server', async () => {
		const res = await httpRequest({ url: base.replace('127.0.0.1', 'localhost'), allowInternal: true });
		expect(res.status).toBe(200);
	});
});

describe('requestSent: whether the server may have the whole request', () => {
	test('a timeout after the request was written: requestSent is true (the outcome is unknown)', async () => {
		handler = () => undefined;
		const error = await httpRequest({ ...allowed, url: base, json: { send: 1 }, timeoutMs: 300 }).catch((e: unknown) => e);
		expect(error).toMatchObject({ code: 'TIMEOUT', requestSent: true });
		expect(received).toHaveLength(1);
	});

	test('a connection dropped after the request arrived: requestSent is true', async () => {
		handler = (req) => req.socket.destroy();
		const error = await httpRequest({ ...allowed, url: base, json: { send: 1 } }).catch((e: unknown) => e);
		expect(error).toMatchObject({ code: 'NETWORK', requestSent: true });
	});

	test('connection refused: requestSent is false (nothing reached a server)', async () => {
		const dead = http.createServer();
		await new Promise<void>((resolve) => dead.listen(0, '127.0.0.1', resolve));
		const port = (dead.address() as AddressInfo).port;
		await new Promise((resolve) => dead.close(resolve));
		const error = await httpRequest({ ...allowed, url: `http://127.0.0.1:${port}/`, json: { send: 1 } }).catch((e: unknown) => e);
		expect(error).toMatchObject({ code: 'NETWORK', requestSent: false });
	});

	test('a blocked address: requestSent is false', async () => {
		const error = await httpRequest({ url: 'http://127.0.0.1:9/', json: { send: 1 } }).catch((e: unknown) => e);
		expect(error).toMatchObject({ code: 'BLOCKED_ADDRESS', requestSent: false });
	});
});
