import http from 'node:http';
import type { AddressInfo } from 'node:net';

import type { IDataObject, IRun } from 'n8n-workflow';

import { closeHttpAgents } from '../../nodes/shared/http';
import { whatsAppDrafts } from '../../nodes/shared/intake/whatsapp';
import { closeSharedRedis } from '../../nodes/shared/queue';
import { useWhatsAppClock } from '../../nodes/shared/whatsapp/clock';
import { contentHash } from '../../nodes/shared/whatsapp/contentHash';
import { whatsAppKeys } from '../../nodes/shared/whatsapp/keys';
import { MessageLog } from '../../nodes/shared/whatsapp/messageLog';
import { startGraphSandbox, type GraphSandbox } from '../../sandbox/graphApi';
import { startQrSandbox, type QrSandbox } from '../../sandbox/qrSession';
import { fixedClock, type FixedClock } from '../support/clock';
import { deletePrefix, redisCredential, testRedis, uniquePrefix } from '../support/redis';
import { outputOf, runWorkflow } from '../../scripts/engine-harness/run-workflow';
import { WHATSAPP_NODE, whatsAppWorkflow } from './workflows/whatsapp-send-workflow';

/**
 * A send whose outcome is unknown (Graph / the QR service took the whole request, then the reply
 * was lost: a timeout or a dropped connection) is never POSTed again on its own: it goes to Not
 * Sent with outcome "unknown", the message log keeps it as UNKNOWN, and a later status webhook for
 * that recipient settles it.
 */

const redis = testRedis();
const ns = uniquePrefix('whatsapp-unknown');
let graph: GraphSandbox;
let qr: QrSandbox;
let clock: FixedClock;
const NOW = '2026-03-29T07:00:00Z';
const T = Date.parse(NOW) / 1000;

beforeAll(async () => {
	graph = await startGraphSandbox();
	graph.hangMs = 1200;
	qr = await startQrSandbox();
	qr.hangMs = 1200;
});
afterAll(async () => {
	await deletePrefix(redis, ns);
	redis.disconnect();
	await graph.close();
	await qr.close();
	closeHttpAgents();
	await closeSharedRedis();
	useWhatsAppClock();
});
beforeEach(async () => {
	clock = fixedClock(NOW);
	useWhatsAppClock(clock);
	graph.requests.length = 0;
	qr.requests.length = 0;
	await deletePrefix(redis, ns);
});

const credentials = (graphUrl = graph.url) => ({
	leadPipelineRedis: { ...redisCredential(), namespace: ns },
	leadPipelineWhatsAppApi: { accessToken: graph.token, phoneNumberId: graph.phoneNumberId, graphApiVersion: graph.version, baseUrl: graphUrl },
	leadPipelineQrSessionApi: { baseUrl: qr.url, apiKey: qr.apiKey, sessionId: qr.sessionId, allowInternal: true },
});

let n = 0;
const lead = (digits: string): IDataObject => ({ traceId: `01JU${String(++n).padStart(22, '0')}`, phone: `+${digits}` });
// A client timeout well under the sandbox's 1.2 s hang.
const params = (extra: IDataObject = {}, options: IDataObject = {}) => ({
	operation: 'send',
	channel: 'cloudApi',
	traceId: '={{ $json.traceId }}',
	to: '={{ $json.phone }}',
	messageType: 'text',
	text: 'Hi, thanks for your enquiry',
	options: { allowInternal: true, timeoutSeconds: 0.3, ...options },
	...extra,
});

async function send(item: IDataObject, p: IDataObject = params(), graphUrl?: string): Promise<IRun> {
	return await runWorkflow(whatsAppWorkflow(p), { input: [item], credentials: credentials(graphUrl), mode: 'trigger' });
}
const outputs = (run: IRun) => [0, 1, 2].map((i) => outputOf(run, WHATSAPP_NODE, i).map((j) => j.whatsApp as IDataObject));
const graphPosts = () => graph.requests.filter((r) => r.method === 'POST').length;
const qrPosts = () => qr.requests.filter((r) => r.method === 'POST' && r.path === '/messages').length;

async function history(traceId: string): Promise<IDataObject[]> {
	const run = await runWorkflow(whatsAppWorkflow({ operation: 'getMessages', lookUpBy: 'traceId', lookupTraceId: traceId }), { credentials: credentials(), mode: 'trigger' });
	return outputOf(run, WHATSAPP_NODE, 0)[0].messages as IDataObject[];
}

function statusEvents(statuses: IDataObject[]): IDataObject[] {
	const payload = {
		object: 'whatsapp_business_account',
		entry: [{ id: 'WABA', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { display_phone_number: '15550001111', phone_number_id: graph.phoneNumberId }, statuses } }] }],
	};
	return whatsAppDrafts(payload).events as IDataObject[];
}
async function recordStatus(id: string, status: string, recipient: string, timestamp = T + 2): Promise<IDataObject> {
	const run = await runWorkflow(whatsAppWorkflow({ operation: 'recordStatus' }), {
		input: statusEvents([{ id, status, timestamp: String(timestamp), recipient_id: recipient }]),
		credentials: credentials(),
		mode: 'trigger',
	});
	return outputOf(run, WHATSAPP_NODE, 0)[0].statusUpdate as IDataObject;
}

/** An address nothing listens on: the connection is refused, so the request never left. */
async function closedPortUrl(): Promise<string> {
	const server = http.createServer();
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const { port } = server.address() as AddressInfo;
	await new Promise((resolve) => server.close(resolve));
	return `http://127.0.0.1:${port}`;
}

describe('Cloud API: the reply is lost after Graph took the message', () => {
	test.each(['acceptThenHang', 'acceptThenDrop', 'network'] as const)('%s: exactly one POST; Not Sent with outcome unknown; logged UNKNOWN; a redelivery POSTs nothing', async (answer) => {
		const digits = '972501230001';
		graph.script(digits, [answer]);
		const item = lead(digits);
		const [sent, notSent, deferred] = outputs(await send(item));
		expect(graphPosts()).toBe(1);
		expect(sent).toEqual([]);
		expect(deferred).toEqual([]);
		expect(notSent).toEqual([expect.objectContaining({ outcome: 'unknown', needsPerson: true, attempts: 1, fix: expect.stringMatching(/Resend Interrupted Sends/) })]);
		const logId = String(notSent[0].logId);
		const [record] = await history(String(item.traceId));
		expect(record).toMatchObject({ id: logId, status: 'UNKNOWN', traceId: item.traceId, to: digits });

		// Redelivered (stream redelivery, retry queue, the outreach Wait loop, a replay): nothing is POSTed.
		const again = outputs(await send(item));
		expect(graphPosts()).toBe(1);
		expect(again[1]).toEqual([expect.objectContaining({ outcome: 'unknown', duplicate: true, logId })]);
		// Also after the idempotency window's usual day: an unknown is kept as long as the log.
		clock.advance(2 * 86_400_000);
		expect(outputs(await send(item))[1]).toEqual([expect.objectContaining({ outcome: 'unknown', duplicate: true })]);
		expect(graphPosts()).toBe(1);
	});

	test('a later "delivered" status for that recipient settles it: the record gets the wamid and DELIVERED; a redelivery is a Sent duplicate', async () => {
		const digits = '972501230002';
		graph.script(digits, ['acceptThenHang']);
		const item = lead(digits);
		await send(item);
		const wamid = String(graph.requests[0].wamid);
		const update = await recordStatus(wamid, 'delivered', digits);
		expect(update).toMatchObject({ result: 'applied', status: 'DELIVERED', settledUnknown: true, traceId: item.traceId });
		const [record] = await history(String(item.traceId));
		expect(record).toMatchObject({ id: wamid, status: 'DELIVERED', traceId: item.traceId });
		expect(outputs(await send(item))[0]).toEqual([expect.objectContaining({ outcome: 'sent', duplicate: true, wamid })]);
		expect(graphPosts()).toBe(1);
		// Later statuses for that wamid apply as for any message.
		expect(await recordStatus(wamid, 'read', digits, T + 9)).toMatchObject({ result: 'applied', status: 'READ' });
	});

	test('a status that arrives before the unknown is recorded (the webhook beat the timeout) is kept and settles it when it is recorded', async () => {
		const digits = '972501230003';
		const kept = await recordStatus('wamid.EARLY0001', 'sent', digits, T + 1);
		expect(kept).toMatchObject({ result: 'missing', kept: true });
		graph.script(digits, ['acceptThenHang']);
		const item = lead(digits);
		const [sent] = outputs(await send(item));
		expect(sent).toEqual([expect.objectContaining({ outcome: 'sent', settledBy: 'status webhook', wamid: 'wamid.EARLY0001' })]);
		expect(graphPosts()).toBe(1);
		const [record] = await history(String(item.traceId));
		expect(record).toMatchObject({ id: 'wamid.EARLY0001', status: 'SENT' });
	});

	test('two unknown sends to the same recipient: a status cannot tell them apart, so both stay for a person', async () => {
		const digits = '972501230004';
		graph.script(digits, ['acceptThenHang', 'acceptThenHang']);
		const first = lead(digits);
		const second = lead(digits);
		await send(first);
		await send(second);
		const update = await recordStatus(String(graph.requests[1].wamid), 'delivered', digits);
		expect(update).toMatchObject({ result: 'missing', kept: true, ambiguous: 2 });
		expect((await history(String(first.traceId)))[0].status).toBe('UNKNOWN');
		expect((await history(String(second.traceId)))[0].status).toBe('UNKNOWN');
	});

	test('a person decides: "Resend Interrupted Sends" sends an unknown once more, and only then', async () => {
		const digits = '972501230005';
		graph.script(digits, ['acceptThenHang']);
		const item = lead(digits);
		await send(item);
		const [resent] = outputs(await send(item, params({}, { resendInterrupted: true })));
		expect(resent).toEqual([expect.objectContaining({ outcome: 'sent', duplicate: false })]);
		expect(graphPosts()).toBe(2);
		expect(outputs(await send(item, params({}, { resendInterrupted: true })))[0]).toEqual([expect.objectContaining({ duplicate: true })]);
		expect(graphPosts()).toBe(2);
	});

	test('a plain 5xx is an answer: still retried, then sent', async () => {
		const digits = '972501230006';
		graph.script(digits, ['http500']);
		const [sent] = outputs(await send(lead(digits)));
		expect(sent).toEqual([expect.objectContaining({ outcome: 'sent', attempts: 2 })]);
		expect(graph.requests.map((r) => r.answer)).toEqual(['http500', 'ok']);
	});

	test('connection refused (the request never left): retried, then Deferred with the claim given back; a later run sends', async () => {
		const item = lead('972501230007');
		const [, notSent, deferred] = outputs(await send(item, params(), await closedPortUrl()));
		expect(notSent).toEqual([]);
		expect(deferred).toEqual([expect.objectContaining({ outcome: 'deferred', attempts: 3 })]);
		expect(clock.sleeps).toHaveLength(2);
		expect(outputs(await send(item))[0]).toEqual([expect.objectContaining({ outcome: 'sent', duplicate: false })]);
		expect(graphPosts()).toBe(1);
	});

	test('with the QR fallback channel, an unknown Cloud API outcome is not sent again over QR', async () => {
		const digits = '972501230008';
		graph.script(digits, ['acceptThenDrop']);
		const [, notSent] = outputs(await send(lead(digits), params({ channel: 'cloudApiWithQrFallback' })));
		expect(notSent).toEqual([expect.objectContaining({ outcome: 'unknown', channel: 'cloudApi' })]);
		expect(graphPosts()).toBe(1);
		expect(qrPosts()).toBe(0);
	});
});

describe('a run killed between the POST and its log write (the interrupted claim)', () => {
	async function killedRun(item: IDataObject, digits: string): Promise<void> {
		const hash = contentHash(digits, { kind: 'text', body: 'Hi, thanks for your enquiry', previewUrl: false });
		const log = new MessageLog(redis, whatsAppKeys(ns), 86_400_000);
		expect(await log.claim(String(item.traceId), hash, 'killed-run', 60_000, 86_400_000, clock.now())).toMatchObject({ claimed: true });
		clock.advance(61_000);
	}

	test('becomes an UNKNOWN record: never sent again, also days later, unless "Resend Interrupted Sends" is on', async () => {
		const digits = '972501230040';
		const item = lead(digits);
		await killedRun(item, digits);
		const [, notSent] = outputs(await send(item));
		expect(notSent).toEqual([expect.objectContaining({ outcome: 'notSent', interrupted: true, needsPerson: true, reason: expect.stringMatching(/interrupted/) })]);
		expect((await history(String(item.traceId)))[0]).toMatchObject({ id: notSent[0].logId, status: 'UNKNOWN' });
		clock.advance(3 * 86_400_000);
		expect(outputs(await send(item))[1]).toEqual([expect.objectContaining({ outcome: 'unknown', duplicate: true })]);
		expect(graphPosts()).toBe(0);
		expect(outputs(await send(item, params({}, { resendInterrupted: true })))[0]).toEqual([expect.objectContaining({ outcome: 'sent', duplicate: false })]);
		expect(graphPosts()).toBe(1);
	});

	test('killed after the log write but before the claim was settled: the logged message counts as sent, no UNKNOWN record, no POST', async () => {
		const digits = '972501230042';
		const item = lead(digits);
		const hash = contentHash(digits, { kind: 'text', body: 'Hi, thanks for your enquiry', previewUrl: false });
		const log = new MessageLog(redis, whatsAppKeys(ns), 86_400_000);
		expect(await log.claim(String(item.traceId), hash, 'killed-run', 60_000, 86_400_000, clock.now())).toMatchObject({ claimed: true });
		const at = new Date(clock.now()).toISOString();
		await log.record({ id: 'wamid.LOGGED0001', traceId: String(item.traceId), channel: 'cloudApi', to: digits, hash, kind: 'text', status: 'PENDING', attempts: 1, createdAt: at, updatedAt: at }, clock.now());
		clock.advance(61_000);
		const [sentOut] = outputs(await send(item));
		expect(sentOut).toEqual([expect.objectContaining({ outcome: 'sent', duplicate: true, wamid: 'wamid.LOGGED0001' })]);
		expect((await history(String(item.traceId))).map((r) => r.status)).toEqual(['PENDING']);
		expect(graphPosts()).toBe(0);
	});

	test('a status webhook for that recipient settles it', async () => {
		const digits = '972501230041';
		const item = lead(digits);
		await killedRun(item, digits);
		await send(item);
		expect(await recordStatus('wamid.KILLED0001', 'delivered', digits, Math.floor(clock.now() / 1000))).toMatchObject({ result: 'applied', settledUnknown: true, traceId: item.traceId });
		expect(outputs(await send(item))[0]).toEqual([expect.objectContaining({ outcome: 'sent', duplicate: true, wamid: 'wamid.KILLED0001' })]);
		expect(graphPosts()).toBe(0);
	});
});

describe('QR session: the same rule', () => {
	const qrParams = (options: IDataObject = {}) => params({ channel: 'qrSession' }, options);

	test.each(['acceptThenHang', 'acceptThenDrop'] as const)('%s: one POST /messages; unknown; a redelivery POSTs nothing', async (answer) => {
		qr.script([answer]);
		const item = lead('972501230010');
		const [, notSent] = outputs(await send(item, qrParams()));
		expect(notSent).toEqual([expect.objectContaining({ outcome: 'unknown', channel: 'qrSession', needsPerson: true })]);
		expect((await history(String(item.traceId)))[0]).toMatchObject({ status: 'UNKNOWN', channel: 'qrSession' });
		await send(item, qrParams());
		expect(qrPosts()).toBe(1);
	});

	test('a 500 from the QR service is still retried', async () => {
		qr.script(['http500']);
		const [sent] = outputs(await send(lead('972501230011'), qrParams()));
		expect(sent).toEqual([expect.objectContaining({ outcome: 'sent', channel: 'qrSession', attempts: 2 })]);
		expect(qrPosts()).toBe(2);
	});
});

describe('status webhooks for a wamid the log does not know yet', () => {
	test('are kept and applied when that wamid is recorded later (a late log write)', async () => {
		await recordStatus('wamid.LATE0001', 'delivered', '972501230020', T + 5);
		const log = new MessageLog(redis, whatsAppKeys(ns), 86_400_000);
		await log.record(
			{ id: 'wamid.LATE0001', traceId: 'trace-late', channel: 'cloudApi', to: '972501230020', hash: 'h', kind: 'text', status: 'PENDING', attempts: 1, createdAt: NOW, updatedAt: NOW },
			Date.parse(NOW),
		);
		expect(await log.get('wamid.LATE0001')).toMatchObject({ status: 'DELIVERED', deliveredAt: '2026-03-29T07:00:05.000Z' });
	});

	test('are bounded: the kept list is capped per namespace and each entry has a TTL', async () => {
		const log = new MessageLog(redis, whatsAppKeys(ns), 86_400_000, { keptStatusCap: 3, keptStatusTtlMs: 60_000 });
		for (let i = 0; i < 5; i++) await log.keepStatus({ wamid: `wamid.CAP${i}`, status: 'SENT', atMs: Date.parse(NOW) + i, recipient: '972501230030' }, Date.parse(NOW) + i);
		const keys = whatsAppKeys(ns);
		expect(await redis.zcard(keys.keptStatuses())).toBe(3);
		expect(await redis.exists(keys.keptStatus('wamid.CAP0'))).toBe(0);
		const ttl = await redis.pttl(keys.keptStatus('wamid.CAP4'));
		expect(ttl).toBeGreaterThan(0);
		expect(ttl).toBeLessThanOrEqual(60_000);
	});
});
