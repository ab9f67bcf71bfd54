// Sample leads over every intake channel, as callers send them: website form posts, signed bot
// posts, and Meta-signed WhatsApp and Instagram webhooks. Used by `npm start -- --sample N` and the
// full-pipeline e2e test, which also uses `expectedProcess` to know where each lead must end up.
import { createHmac, randomUUID } from 'node:crypto';

/** The routing of workflows/filter-queue.json, restated for expectations (keep the two in step). */
const DESTINATIONS = { Goa: 'WEST', Kerala: 'WEST', Rajasthan: 'WEST', Dubai: 'PSV', Bali: 'PSV', Thailand: 'PSV', Maldives: 'NO_FILTER', Singapore: 'NO_FILTER', Japan: 'UPCOMING', Iceland: 'UPCOMING', Peru: undefined };
export function expectedProcess(lead) {
	if (lead.channel === 'WHATSAPP_BOT') return 'NO_FILTER';
	return (lead.destination && DESTINATIONS[lead.destination]) || 'UNKNOWN';
}

/** A deterministic pseudo-random sequence, so a run can be repeated. */
function random(seed) {
	let s = seed >>> 0 || 1;
	return () => {
		s ^= s << 13;
		s ^= s >>> 17;
		s ^= s << 5;
		return (s >>> 0) / 2 ** 32;
	};
}

const FIRST = ['Asha', 'Ravi', 'Meera', 'Arjun', 'Priya', 'Kiran', 'Chen', 'Sara', 'Vikram', 'Anita', 'Rahul', 'Divya'];
const LAST = ['Rao', 'Iyer', 'Shah', 'Nair', 'Das', 'Gupta', 'Menon', 'Khan', 'Singh', 'Pillai'];

/**
 * `count` submissions: channel mix website 40 %, WhatsApp 25 %, bots 20 %, Instagram 15 %;
 * `duplicateRate` of them repeat an earlier lead's phone (same channel and destination, a new
 * message id, so only Dedupe can tell); `invalidRate` are website/bot posts with a bad phone (400).
 */
export function sampleLeads(count, { duplicateRate = 0.15, invalidRate = 0.02, seed = 20250601, runId = randomUUID().slice(0, 8) } = {}) {
	const rnd = random(seed);
	const pick = (list) => list[Math.floor(rnd() * list.length)];
	const leads = [];
	const originals = [];
	for (let i = 0; i < count; i++) {
		const roll = rnd();
		const id = `${runId}-${i}`;
		if (roll < invalidRate) {
			leads.push({ id, channel: rnd() < 0.5 ? 'WEBSITE' : 'WHATSAPP_BOT', invalid: true, name: `Invalid ${i}`, phone: '12', destination: 'Goa' });
			continue;
		}
		if (roll < invalidRate + duplicateRate && originals.length) {
			const original = pick(originals);
			leads.push({ ...original, id, duplicateOf: original.id, name: `${pick(FIRST)} ${pick(LAST)} again ${i}` , email: undefined });
			continue;
		}
		const c = rnd();
		const channel = c < 0.4 ? 'WEBSITE' : c < 0.65 ? 'WHATSAPP' : c < 0.85 ? 'WHATSAPP_BOT' : 'INSTAGRAM_BOT';
		// Unique per run and lead: +91 9xxxxxxxxx built from the run id and the index.
		const digits = String((parseInt(runId.slice(0, 6), 16) % 90_000) * 10_000 + i).padStart(9, '0').slice(-9);
		const lead = {
			id,
			channel,
			name: `${pick(FIRST)} ${pick(LAST)} ${i}`,
			phone: `+919${digits}`,
			email: channel === 'WEBSITE' ? `lead.${id}@example.com` : undefined,
			destination: channel === 'WEBSITE' || channel === 'WHATSAPP_BOT' ? pick(Object.keys(DESTINATIONS)) : undefined,
		};
		originals.push(lead);
		leads.push(lead);
	}
	return leads;
}

export const metaSignature = (raw, appSecret) => `sha256=${createHmac('sha256', appSecret).update(raw).digest('hex')}`;
const hmac = (raw, secret) => createHmac('sha256', secret).update(raw).digest('hex');

/** The request a caller would send for one sample lead. */
export function requestFor(lead, { formSecret, appSecret }) {
	const json = (path, body, headers = {}) => ({ path, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
	if (lead.channel === 'WEBSITE') {
		return json('leads', { name: lead.name, phone: lead.phone, email: lead.email, destination: lead.destination, utm_source: 'sample' }, { 'idempotency-key': `sample-${lead.id}` });
	}
	if (lead.channel === 'WHATSAPP_BOT') {
		const raw = JSON.stringify({ botId: 'travel-bot', messageId: `session-${lead.id}`, name: lead.name, phone: lead.phone, destination: lead.destination, answers: { destination: lead.destination, travellers: 2 } });
		return { path: 'bots', headers: { 'content-type': 'application/json', 'x-lead-signature': hmac(raw, formSecret) }, body: raw };
	}
	const waId = lead.phone.replace(/\D/g, '');
	const body =
		lead.channel === 'WHATSAPP'
			? {
					object: 'whatsapp_business_account',
					entry: [{ id: '102290129340398', changes: [{ field: 'messages', value: {
						messaging_product: 'whatsapp',
						metadata: { display_phone_number: '15550783881', phone_number_id: '106540352242922' },
						contacts: [{ profile: { name: lead.name }, wa_id: waId }],
						messages: [{ from: waId, id: `wamid.sample-${lead.id}`, timestamp: String(Math.floor(Date.now() / 1000)), type: 'text', text: { body: 'Hi, I would like a holiday package' } }],
					} }] }],
				}
			: {
					object: 'instagram',
					entry: [{ id: '17841405822304914', time: Date.now(), messaging: [{ sender: { id: `ig-${waId}` }, recipient: { id: '17841405822304914' }, timestamp: Date.now(), message: { mid: `mid.sample-${lead.id}`, text: `Hi, I am ${lead.name}, call me on ${lead.phone}` } }] }],
				};
	const raw = JSON.stringify(body);
	return { path: 'meta', headers: { 'content-type': 'application/json', 'x-hub-signature-256': metaSignature(raw, appSecret) }, body: raw };
}

/**
 * Posts the leads with `concurrency` requests in flight; returns per-lead { status, traceId }.
 * 503 answers (Redis down) are retried after `retryDelayMs` while `retry503` is on, as callers should.
 */
export async function postLeads(baseUrl, leads, secrets, { concurrency = 16, retry503 = true, retryDelayMs = 200, maxAttempts = 600 } = {}) {
	const results = new Array(leads.length);
	let next = 0;
	const worker = async () => {
		while (next < leads.length) {
			const i = next++;
			const request = requestFor(leads[i], secrets);
			let attempts = 0;
			let answered503 = 0;
			for (;;) {
				attempts++;
				let status = 0;
				let text = '';
				try {
					const response = await fetch(`${baseUrl}/webhook/${request.path}`, { method: 'POST', headers: request.headers, body: request.body });
					status = response.status;
					text = await response.text();
				} catch (error) {
					text = String(error);
				}
				if (status === 503) answered503++;
				if ((status === 503 || status === 0) && retry503 && attempts < maxAttempts) {
					await new Promise((r) => setTimeout(r, retryDelayMs));
					continue;
				}
				let traceId;
				try {
					traceId = JSON.parse(text).traceId;
				} catch {
					traceId = undefined;
				}
				results[i] = { status, traceId, attempts, answered503, text: status >= 300 ? text.slice(0, 300) : undefined };
				break;
			}
		}
	};
	await Promise.all(Array.from({ length: concurrency }, worker));
	return results;
}

/** Meta's delivery status webhook for messages the pipeline sent (what WhatsApp posts back). */
export function deliveredStatusRequest(wamids, appSecret, status = 'delivered') {
	const raw = JSON.stringify({
		object: 'whatsapp_business_account',
		entry: [{ id: '102290129340398', changes: [{ field: 'messages', value: {
			messaging_product: 'whatsapp',
			metadata: { display_phone_number: '15550783881', phone_number_id: '106540352242922' },
			statuses: wamids.map((id) => ({ id, status, timestamp: String(Math.floor(Date.now() / 1000)), recipient_id: '919800000000' })),
		} }] }],
	});
	return { path: 'meta', headers: { 'content-type': 'application/json', 'x-hub-signature-256': metaSignature(raw, appSecret) }, body: raw };
}
