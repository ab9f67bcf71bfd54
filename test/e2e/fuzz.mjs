// Random and malformed requests for an HTTP endpoint (deterministic: seeded).
import { Agent, request } from 'node:http';

function rng(seed) {
	let x = seed >>> 0 || 1;
	return () => {
		x ^= x << 13;
		x ^= x >>> 17;
		x ^= x << 5;
		return (x >>> 0) / 4294967296;
	};
}

// No application/xml: n8n 2.41 parses XML bodies itself before any node sees the request, and a
// malformed one leaves the request unanswered (its async xml2js parse never settles) — measured
// here with 84 of 1000 requests hanging; it is n8n's, for every webhook node, not this pack's.
const CONTENT_TYPES = [
	'application/json',
	'application/json; charset=utf-8',
	'application/x-www-form-urlencoded',
	'text/plain',
	'text/xml-ish',
	'multipart/form-data; boundary=xyz',
	'application/octet-stream',
	'',
	'application/vnd.api+json',
	'json',
];

function body(random) {
	const pick = (list) => list[Math.floor(random() * list.length)];
	const text = (n) => Array.from({ length: n }, () => String.fromCharCode(Math.floor(random() * 0x2fff))).join('');
	const lead = () => ({
		name: pick(['Asha', '', null, 42, text(5), { a: 1 }, ['x']]),
		phone: pick(['+91 98450 98450', '098450 98450', '12', '', null, 9845098450, text(12), '+'.repeat(30)]),
		email: pick(['a@example.com', 'nope', '', null, 'A@B.C', text(8)]),
		destination: pick(['Goa', '', null, text(300)]),
		utm_source: pick(['google', [], {}, null]),
	});
	switch (Math.floor(random() * 10)) {
		case 0: return Buffer.from(Array.from({ length: Math.floor(random() * 512) }, () => Math.floor(random() * 256)));
		case 1: return JSON.stringify(lead()).slice(0, Math.floor(random() * 40));
		case 2: return JSON.stringify(lead());
		case 3: return JSON.stringify(pick([[], [lead()], null, 1, 'str', true, { importId: 5, leads: 'x' }]));
		case 4: return JSON.stringify({ importId: `fuzz-${Math.floor(random() * 5)}`, leads: Array.from({ length: Math.floor(random() * 5) }, lead) });
		case 5: return `${'{"a":'.repeat(200)}1${'}'.repeat(200)}`;
		case 6: return new URLSearchParams(Object.entries(lead()).map(([k, v]) => [k, String(v)])).toString();
		case 7: return `name=${text(10)}&phone=%ZZ&email=%`;
		case 8: return '';
		default: return JSON.stringify({ object: pick(['whatsapp_business_account', 'instagram']), entry: pick([[], [{}], null, 'x']) });
	}
}

/**
 * Sends `count` requests, `concurrency` at a time; returns how many got each status. A request not
 * answered within 15 s counts as status 0 and is listed in `unanswered`.
 */
export async function fuzzRequests(url, count, concurrency, seed = 20261122) {
	const random = rng(seed);
	const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
	const statuses = new Map();
	const unanswered = [];
	let next = 0;
	const send = (contentType, payload) =>
		new Promise((resolve) => {
			const headers = { 'content-length': Buffer.byteLength(payload) };
			if (contentType) headers['content-type'] = contentType;
			const req = request(url, { method: 'POST', agent, headers, timeout: 15_000 }, (res) => {
				res.resume();
				res.on('end', () => resolve(res.statusCode));
			});
			req.on('timeout', () => {
				unanswered.push({ contentType, body: String(payload).slice(0, 200) });
				req.destroy();
				resolve(0);
			});
			req.on('error', () => resolve(-1));
			req.end(payload);
		});
	const worker = async () => {
		while (next < count) {
			next++;
			const status = await send(CONTENT_TYPES[Math.floor(random() * CONTENT_TYPES.length)], body(random));
			statuses.set(status, (statuses.get(status) ?? 0) + 1);
		}
	};
	await Promise.all(Array.from({ length: concurrency }, worker));
	agent.destroy();
	return { statuses, unanswered };
}
