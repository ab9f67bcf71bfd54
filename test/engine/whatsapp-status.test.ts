import type { IDataObject } from 'n8n-workflow';

import { closeHttpAgents } from '../../nodes/shared/http';
import { whatsAppDrafts } from '../../nodes/shared/intake/whatsapp';
import { useWhatsAppClock } from '../../nodes/shared/whatsapp/clock';
import { startGraphSandbox, type GraphSandbox } from '../../sandbox/graphApi';
import { fixedClock } from '../support/clock';
import { deletePrefix, redisCredential, testRedis, uniquePrefix } from '../support/redis';
import { errorOf, outputOf, runWorkflow } from '../../scripts/engine-harness/run-workflow';
import { WHATSAPP_NODE, whatsAppWorkflow } from './workflows/whatsapp-send-workflow';

const redis = testRedis();
const ns = uniquePrefix('whatsapp-status');
let graph: GraphSandbox;

beforeAll(async () => {
	graph = await startGraphSandbox();
	useWhatsAppClock(fixedClock('2026-03-29T07:00:00Z'));
});
afterAll(async () => {
	await deletePrefix(redis, ns);
	redis.disconnect();
	await graph.close();
	closeHttpAgents();
	useWhatsAppClock();
});

const credentials = () => ({
	leadPipelineRedis: { ...redisCredential(), namespace: ns },
	leadPipelineWhatsAppApi: { accessToken: graph.token, phoneNumberId: graph.phoneNumberId, graphApiVersion: graph.version, baseUrl: graph.url },
});
let n = 0;

/** Sends one text to a new lead; returns its traceId and wamid. */
async function sendOne(): Promise<{ traceId: string; wamid: string }> {
	const traceId = `01JR${String(++n).padStart(22, '0')}`;
	const run = await runWorkflow(
		whatsAppWorkflow({ operation: 'send', channel: 'cloudApi', traceId: '={{ $json.traceId }}', to: '={{ $json.phone }}', messageType: 'text', text: 'Hello', options: { allowInternal: true } }),
		{ input: [{ traceId, phone: '+972501234567' }], credentials: credentials(), mode: 'trigger' },
	);
	return { traceId, wamid: String((outputOf(run, WHATSAPP_NODE, 0)[0].whatsApp as IDataObject).wamid) };
}

/** Meta status webhooks, turned into Events items by the Lead Trigger's own parser. */
function statusEvents(statuses: IDataObject[]): IDataObject[] {
	const payload = {
		object: 'whatsapp_business_account',
		entry: [{ id: 'WABA', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { display_phone_number: '15550001111', phone_number_id: graph.phoneNumberId }, statuses } }] }],
	};
	return whatsAppDrafts(payload).events as IDataObject[];
}
const status = (id: string, s: string, timestamp: number, extra: IDataObject = {}) => ({ id, status: s, timestamp: String(timestamp), recipient_id: '972501234567', ...extra });

async function record(events: IDataObject[], mode: 'trigger' | 'manual' = 'trigger') {
	const run = await runWorkflow(whatsAppWorkflow({ operation: 'recordStatus' }), { input: events, credentials: credentials(), mode });
	return outputOf(run, WHATSAPP_NODE, 0).map((j) => j.statusUpdate as IDataObject);
}
async function history(traceId: string) {
	const run = await runWorkflow(whatsAppWorkflow({ operation: 'getMessages', lookUpBy: 'traceId', lookupTraceId: traceId }), { credentials: credentials(), mode: 'trigger' });
	return outputOf(run, WHATSAPP_NODE, 0)[0].messages as IDataObject[];
}

const T = Date.parse('2026-03-29T07:00:00Z') / 1000;

test('out of order: read before delivered leaves READ; the late delivered is ignored', async () => {
	const { traceId, wamid } = await sendOne();
	const updates = await record(statusEvents([status(wamid, 'sent', T + 1), status(wamid, 'read', T + 30), status(wamid, 'delivered', T + 5)]));
	expect(updates.map((u) => [u.status, u.result, u.previous])).toEqual([
		['SENT', 'applied', 'PENDING'],
		['READ', 'applied', 'SENT'],
		['DELIVERED', 'stale', 'READ'],
	]);
	const [message] = await history(traceId);
	expect(message).toMatchObject({ id: wamid, status: 'READ', sentAt: '2026-03-29T07:00:01.000Z', readAt: '2026-03-29T07:00:30.000Z' });
	expect(message.deliveredAt).toBeUndefined();
	expect(updates[0].traceId).toBe(traceId);
});

test('a repeated status is idempotent', async () => {
	const { traceId, wamid } = await sendOne();
	await record(statusEvents([status(wamid, 'delivered', T + 2)]));
	const before = await history(traceId);
	const [again] = await record(statusEvents([status(wamid, 'delivered', T + 2)]));
	expect(again).toMatchObject({ result: 'repeat', previous: 'DELIVERED' });
	expect(await history(traceId)).toEqual(before);
});

test('failed with 131047: the message is FAILED with the reason; nothing moves it after', async () => {
	const { traceId, wamid } = await sendOne();
	const errors = [{ code: 131047, title: 'Re-engagement message', message: 'Re-engagement message', error_data: { details: 'Message failed to send because more than 24 hours have passed since the customer last replied to this number.' } }];
	const [update] = await record(statusEvents([status(wamid, 'failed', T + 3, { errors })]));
	expect(update).toMatchObject({ result: 'applied', status: 'FAILED', errorCode: 131047 });
	const [message] = await history(traceId);
	expect(message).toMatchObject({ status: 'FAILED', errorCode: 131047, failedAt: '2026-03-29T07:00:03.000Z' });
	expect(String(message.error)).toMatch(/^131047 — Re-engagement message: Message failed to send because more than 24 hours/);
	const [late] = await record(statusEvents([status(wamid, 'delivered', T + 4)]));
	expect(late).toMatchObject({ result: 'stale', previous: 'FAILED' });
});

test('a status for a message this log never sent is reported missing, not an error', async () => {
	const [update] = await record(statusEvents([status('wamid.UNKNOWN', 'read', T)]));
	expect(update).toMatchObject({ result: 'missing', wamid: 'wamid.UNKNOWN' });
});

test('other events pass through marked ignored; an item that is no status fails with how to connect it', async () => {
	const [ignored] = await record([{ kind: 'message', type: 'reaction', id: 'wamid.X' }]);
	expect(ignored).toMatchObject({ result: 'ignored' });
	const run = await runWorkflow(whatsAppWorkflow({ operation: 'recordStatus' }), { input: [{ hello: 'world' }], credentials: credentials(), mode: 'trigger' });
	expect(errorOf(run)).toMatch(/has no message id/);
});

test('an editor test run reads but never changes the log', async () => {
	const { traceId, wamid } = await sendOne();
	const [update] = await record(statusEvents([status(wamid, 'read', T + 9)]), 'manual');
	expect(update).toMatchObject({ result: 'testRun', current: 'PENDING' });
	expect((await history(traceId))[0].status).toBe('PENDING');
});

test('Get Message History by message id', async () => {
	const { traceId, wamid } = await sendOne();
	const run = await runWorkflow(whatsAppWorkflow({ operation: 'getMessages', lookUpBy: 'messageId', lookupMessageId: wamid }), { credentials: credentials(), mode: 'trigger' });
	expect(outputOf(run, WHATSAPP_NODE, 0)[0]).toMatchObject({ found: true, message: { traceId, status: 'PENDING' } });
});
