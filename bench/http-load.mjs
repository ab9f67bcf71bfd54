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

/** ms since the epoch with sub-ms precision (the sandboxes stamp receipts the same way). */
export const nowMs = () => performance.timeOrigin + performance.now();

/**
 * Open-loop load: POSTs `makeBody(i)` at `rate` requests/s for `seconds` whatever the answers, so a
 * slow server cannot slow the arrivals (no coordinated omission). Each request's latency counts
 * from its scheduled time. `makeBody` returns the body, or { body, headers } for per-request headers
 * (a signature over the body). Returns [{ scheduledAt, answeredAt, status, body, sent }] in order
 * (`sent`: the request body).
 */
export async function openLoad(url, { rate, seconds, makeBody, headers = { 'content-type': 'application/json' } }) {
	const agent = new Agent({ keepAlive: true, maxSockets: 256 });
	const count = Math.round(rate * seconds);
	const records = [];
	const inFlight = [];
	const started = nowMs() + 20;
	for (let i = 0; i < count; i++) {
		const scheduledAt = started + (i * 1000) / rate;
		const wait = scheduledAt - nowMs();
		if (wait > 1) await new Promise((r) => setTimeout(r, wait));
		const made = makeBody(i);
		const [body, own] = typeof made === 'string' ? [made, {}] : [made.body, made.headers];
		const record = { scheduledAt, sentAt: nowMs(), answeredAt: undefined, status: 0, body: '', sent: body };
		records.push(record);
		inFlight.push(
			new Promise((resolve) => {
				const req = request(url, { method: 'POST', agent, headers: { ...headers, ...own, 'content-length': Buffer.byteLength(body) } }, (res) => {
					const chunks = [];
					res.on('data', (c) => chunks.push(c));
					res.on('end', () => {
						Object.assign(record, { answeredAt: nowMs(), status: res.statusCode, body: Buffer.concat(chunks).toString('utf8') });
						resolve();
					});
				});
				req.on('error', (error) => {
					Object.assign(record, { answeredAt: nowMs(), status: -1, body: String(error) });
					resolve();
				});
				req.end(body);
			}),
		);
	}
	const lastSent = records.at(-1)?.sentAt ?? started;
	await Promise.all(inFlight);
	agent.destroy();
	return { records, sendSeconds: (lastSent - started) / 1000 };
}

/** p-th percentile (0–100) of numbers, nearest rank. */
export function percentile(values, p) {
	if (!values.length) return NaN;
	const sorted = [...values].sort((a, b) => a - b);
	return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
}
