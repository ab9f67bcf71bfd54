// A small closed-loop HTTP load generator for loopback benchmarks (keep-alive, fixed concurrency).
import { Agent, request } from 'node:http';

/** POSTs `makeBody(i)` for `seconds` with `concurrency` requests in flight; returns req/s and statuses. */
export async function load(url, { seconds, concurrency, makeBody, headers = { 'content-type': 'application/json' } }) {
	const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
	const statuses = new Map();
	let sent = 0;
	const deadline = Date.now() + seconds * 1000;
	const one = () =>
		new Promise((resolve) => {
			const body = makeBody(sent++);
			const req = request(url, { method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
				res.resume();
				res.on('end', () => resolve(res.statusCode));
			});
			req.on('error', () => resolve(-1));
			req.end(body);
		});
	const started = Date.now();
	await Promise.all(
		Array.from({ length: concurrency }, async () => {
			while (Date.now() < deadline) {
				const status = await one();
				statuses.set(status, (statuses.get(status) ?? 0) + 1);
			}
		}),
	);
	agent.destroy();
	const done = [...statuses.values()].reduce((a, b) => a + b, 0);
	return { rate: done / ((Date.now() - started) / 1000), statuses: Object.fromEntries(statuses) };
}
