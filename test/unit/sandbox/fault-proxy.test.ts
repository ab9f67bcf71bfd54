import http from 'node:http';
import type { AddressInfo } from 'node:net';

import { FaultProxy } from '../../../sandbox/faultProxy';

/** The upstream counts what it carried out; the proxy decides what the caller sees. */
let carriedOut = 0;
const upstream = http.createServer((req, res) => {
	req.resume();
	req.on('end', () => {
		carriedOut++;
		res.writeHead(200, { 'content-type': 'application/json' });
		res.end(JSON.stringify({ n: carriedOut }));
	});
});
let proxy: FaultProxy;

beforeAll(async () => {
	await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
	proxy = await new FaultProxy(`http://127.0.0.1:${(upstream.address() as AddressInfo).port}`).start();
});
afterAll(async () => {
	await proxy.close();
	upstream.closeAllConnections();
	await new Promise((resolve) => upstream.close(resolve));
});
beforeEach(() => {
	carriedOut = 0;
	proxy.set({});
});

const post = async (headers: Record<string, string> = {}, timeoutMs = 2000) =>
	await fetch(`${proxy.url}/x`, { method: 'POST', body: '{}', headers: { 'content-type': 'application/json', ...headers }, signal: AbortSignal.timeout(timeoutMs) });

test('with no fault it forwards and answers what the upstream answered', async () => {
	const res = await post();
	expect(res.status).toBe(200);
	expect(await res.json()).toEqual({ n: 1 });
});

test('a late reply: the request is carried out, the caller times out first', async () => {
	proxy.set({ lateReplyEvery: 1, lateReplyMs: 1500 });
	await expect(post({}, 300)).rejects.toThrow();
	expect(carriedOut).toBe(1);
	expect(proxy.counts.lateReplies).toBeGreaterThanOrEqual(1);
});

test('a lost reply: carried out, then the connection drops', async () => {
	proxy.set({ lostReplyEvery: 2 });
	expect((await post()).status).toBe(200);
	await expect(post()).rejects.toThrow();
	expect(carriedOut).toBe(2);
});

test('5xx every Nth: not carried out', async () => {
	proxy.set({ serverErrorEvery: 1 });
	expect((await post()).status).toBe(503);
	expect(carriedOut).toBe(0);
});

test('the first attempt per key is throttled with Retry-After, the second goes through', async () => {
	proxy.set({ throttleFirstBy: 'webhook-id', retryAfter: '30' });
	const first = await post({ 'webhook-id': 'msg_1' });
	expect(first.status).toBe(429);
	expect(first.headers.get('retry-after')).toBe('30');
	expect((await post({ 'webhook-id': 'msg_1' })).status).toBe(200);
	expect((await post({ 'webhook-id': 'msg_2' })).status).toBe(429);
	expect(carriedOut).toBe(1);
});
