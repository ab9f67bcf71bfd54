import type { IDataObject, IRun } from 'n8n-workflow';

import { closeHttpAgents } from '../../nodes/shared/http';
import { whatsAppDrafts } from '../../nodes/shared/intake/whatsapp';
import { newTraceId } from '../../nodes/shared/lead/trace';
import { RedisLeadStore } from '../../nodes/shared/store/redisStore';
import { startGraphSandbox, type GraphSandbox } from '../../sandbox/graphApi';
import { LeadSquaredSandbox } from '../../sandbox/leadsquared';
import { WebhookReceiver } from '../../sandbox/webhookReceiver';
import { breakMetrics, countsToday } from '../support/metrics';
import { deletePrefix, redisCredential, testRedis, uniquePrefix } from '../support/redis';
import { outputOf, runWorkflow } from '../../scripts/engine-harness/run-workflow';
import { crmSyncWorkflow } from './workflows/crm-sync-workflow';
import { webhookDeliverWorkflow } from './workflows/webhook-deliver-workflow';
import { WHATSAPP_NODE, whatsAppWorkflow } from './workflows/whatsapp-send-workflow';

// CRM Sync, WhatsApp Send and Webhook Deliver count their outcomes (issue 15), through the engine.
const prefix = uniquePrefix('metrics-outputs');
const redis = testRedis();
const store = new RedisLeadStore(redis);
let ns = '';
let n = 0;
let lsq: LeadSquaredSandbox;
let graph: GraphSandbox;
let receiver: WebhookReceiver;

beforeAll(async () => {
	lsq = await LeadSquaredSandbox.start({ rateLimit: 100, windowMs: 1_000 });
	graph = await startGraphSandbox();
	receiver = await new WebhookReceiver().start();
});
beforeEach(() => {
	ns = `${prefix}${++n}`;
});
afterAll(async () => {
	await lsq.close();
	await graph.close();
	await receiver.stop();
	closeHttpAgents();
	await deletePrefix(redis, prefix);
	await deletePrefix(redis, 'lead-pipeline:crm-rate:');
	redis.disconnect();
});

const redisCred = () => ({ ...redisCredential(), namespace: ns });

describe('CRM Sync counts crm{synced|skipped|failed}', () => {
	const credentials = () => ({
		leadPipelineRedis: redisCred(),
		leadPipelineLeadSquaredApi: { host: lsq.host, accessKey: lsq.accessKey, secretKey: lsq.secretKey, allowInternal: true },
	});
	const params = (extra: IDataObject = {}, options: IDataObject = {}) => ({
		provider: 'leadsquared',
		opportunityEventCode: 12000,
		...extra,
		options: { rateLimit: 100, rateWindowSeconds: 1, retryDelayMs: 20, timeoutMs: 2_000, ...options },
	});
	const sync = (items: IDataObject[], parameters: IDataObject, mode: 'trigger' | 'manual' = 'trigger'): Promise<IRun> =>
		runWorkflow(crmSyncWorkflow(parameters), { input: items, credentials: credentials(), mode });

	async function seed(destination = 'Goa'): Promise<IDataObject> {
		const traceId = newTraceId();
		const phone = `+9198450${String(Math.floor(Math.random() * 1e5)).padStart(5, '0')}`;
		const verdict = await store.checkAndRecord({ traceId, namespace: ns, keys: { phone }, windowSeconds: 3600, lead: { channel: 'WEBSITE', name: 'Asha', phone, destination } });
		if (verdict.duplicate) throw new Error('expected an original');
		return { id: `${Date.now()}-0`, stream: 'syncQueue', deliveryCount: 1, message: { _id: verdict.opportunityId, traceID: traceId, action: 'CREATE', source: 'NO_FILTER' } };
	}

	test('per item; the redelivery of a synced item (skipped: already pushed) is not counted again', async () => {
		const ok = await seed();
		const bad = await seed();
		await sync([ok], params());
		await sync([bad], params({ opportunityEventCode: 999 }));
		await sync([{ id: '9-0', message: { traceID: 'no-id' } }], params());
		const again = await sync([ok], params());
		expect(outputOf(again, 'CRM Sync', 1)[0]).toMatchObject({ kind: 'skipped', reason: expect.stringMatching(/already pushed/) });
		expect(await countsToday(redis, ns)).toEqual({ 'crm|synced': 1, 'crm|failed': 2 });
	});

	test('a refused metrics write does not fail the sync; test runs count nothing', async () => {
		await breakMetrics(redis, ns);
		const run = await sync([await seed()], params());
		expect(outputOf(run, 'CRM Sync', 0)[0]).toMatchObject({ kind: 'synced' });
		await redis.del((await redis.keys(`${ns}:metrics:day:*`))[0]);
		await sync([await seed()], params(), 'manual');
		expect(await countsToday(redis, ns)).toEqual({});
	});
});

describe('WhatsApp Send counts whatsapp{sent|notSent|deferred|delivered|read|failed}', () => {
	const credentials = () => ({
		leadPipelineRedis: redisCred(),
		leadPipelineWhatsAppApi: { accessToken: graph.token, phoneNumberId: graph.phoneNumberId, graphApiVersion: graph.version, baseUrl: graph.url },
	});
	const send = (input: IDataObject[], mode: 'trigger' | 'manual' = 'trigger', extra: IDataObject = {}) =>
		runWorkflow(
			whatsAppWorkflow({ operation: 'send', channel: 'cloudApi', traceId: '={{ $json.traceId }}', to: '={{ $json.phone }}', messageType: 'text', text: 'Hello', options: { allowInternal: true, sendInTestRuns: true }, ...extra }),
			{ input, credentials: credentials(), mode },
		);
	const statusEvents = (statuses: IDataObject[]) =>
		whatsAppDrafts({
			object: 'whatsapp_business_account',
			entry: [{ id: 'WABA', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { display_phone_number: '1555', phone_number_id: graph.phoneNumberId }, statuses } }] }],
		}).events as IDataObject[];
	const record = (events: IDataObject[]) => runWorkflow(whatsAppWorkflow({ operation: 'recordStatus' }), { input: events, credentials: credentials(), mode: 'trigger' });

	test('Send per item (a redelivered send is not counted twice), Record Status per applied status', async () => {
		const a = { traceId: newTraceId(), phone: '+972501234567' };
		const b = { traceId: newTraceId(), phone: '+972501234568' };
		const first = await send([a, b]);
		await send([a, b]);
		const [wamidA, wamidB] = outputOf(first, WHATSAPP_NODE, 0).map((j) => String((j.whatsApp as IDataObject).wamid));
		expect(await countsToday(redis, ns)).toEqual({ 'whatsapp|sent': 2 });

		const now = Math.floor(Date.now() / 1000);
		const statuses = [
			{ id: wamidA, status: 'delivered', timestamp: String(now), recipient_id: '972501234567' },
			{ id: wamidA, status: 'read', timestamp: String(now + 1), recipient_id: '972501234567' },
			// A read receipt first also means delivered.
			{ id: wamidB, status: 'read', timestamp: String(now + 1), recipient_id: '972501234568' },
		];
		await record(statusEvents(statuses));
		await record(statusEvents(statuses));
		expect(await countsToday(redis, ns)).toEqual({ 'whatsapp|sent': 2, 'whatsapp|delivered': 2, 'whatsapp|read': 2 });
	});

	test('outside business hours: notSent (rules reject) and deferred (rules defer), each once', async () => {
		const today = new Date().toISOString().slice(0, 10);
		const rules = (outsideHours: string) => ({ useBusinessRules: true, timeZone: 'UTC', openingHours: 'Sun-Sat 00:00-23:59', holidays: today, outsideHours });
		const rejected = { traceId: newTraceId(), phone: '+972501234571' };
		const deferred = { traceId: newTraceId(), phone: '+972501234572' };
		expect(outputOf(await send([rejected], 'trigger', rules('reject')), WHATSAPP_NODE, 1)).toHaveLength(1);
		expect(outputOf(await send([deferred], 'trigger', rules('defer')), WHATSAPP_NODE, 2)).toHaveLength(1);
		await send([deferred], 'trigger', rules('defer'));
		expect(await countsToday(redis, ns)).toEqual({ 'whatsapp|notSent': 1, 'whatsapp|deferred': 1 });
	});

	test('test runs (even when they really send) count nothing; a refused write does not fail the send', async () => {
		await send([{ traceId: newTraceId(), phone: '+972501234569' }], 'manual');
		expect(await countsToday(redis, ns)).toEqual({});
		await breakMetrics(redis, ns);
		const run = await send([{ traceId: newTraceId(), phone: '+972501234570' }]);
		expect(outputOf(run, WHATSAPP_NODE, 0)[0].whatsApp).toMatchObject({ outcome: 'sent' });
	});
});

describe('Webhook Deliver counts webhook{delivered|failed}', () => {
	const deliver = async (path: string, input: IDataObject[], mode: 'trigger' | 'manual' = 'trigger') => {
		const parameters = {
			url: `${receiver.url}${path}`,
			eventType: 'lead.created',
			baseDelayMs: 20,
			attempts: 2,
			useRedis: true,
			options: { allowInternal: true, deliverInTestRuns: true, keyPrefix: `${ns}:wh`, retryStream: `${ns}:retry`, dlqStream: `${ns}:dlq` },
		};
		const run = await runWorkflow(webhookDeliverWorkflow(parameters, { signing: false, redis: true }), { input, credentials: { leadPipelineRedis: redisCred() }, mode });
		return { delivered: outputOf(run, 'Webhook Deliver', 0), failed: outputOf(run, 'Webhook Deliver', 1) };
	};

	test('final result per item, once per delivery', async () => {
		receiver.on('/metrics-ok', {});
		receiver.on('/metrics-bad', { status: 400 });
		const ok = [{ traceId: newTraceId() }, { traceId: newTraceId() }];
		await deliver('/metrics-ok', ok);
		const again = await deliver('/metrics-ok', ok);
		expect(again.delivered[0].webhook).toMatchObject({ alreadyDelivered: true });
		const bad = await deliver('/metrics-bad', [{ traceId: newTraceId() }]);
		expect(bad.failed).toHaveLength(1);
		expect(await countsToday(redis, ns)).toEqual({ 'webhook|delivered': 2, 'webhook|failed': 1 });
	});

	test('a refused metrics write does not fail the delivery; test runs (even when they really deliver) count nothing', async () => {
		receiver.on('/metrics-ok2', {});
		const manual = await deliver('/metrics-ok2', [{ traceId: newTraceId() }], 'manual');
		expect(manual.delivered[0].webhook).toMatchObject({ status: 200 });
		expect(await countsToday(redis, ns)).toEqual({});
		await breakMetrics(redis, ns);
		const out = await deliver('/metrics-ok2', [{ traceId: newTraceId() }]);
		expect(out.delivered).toHaveLength(1);
	});
});
