import { readFileSync } from 'node:fs';
import path from 'node:path';

import type Redis from 'ioredis';
import type { IDataObject, IRun } from 'n8n-workflow';

import { closeHttpAgents } from '../../nodes/shared/http';
import { RedisLeadStore } from '../../nodes/shared/store/redisStore';
import { newTraceId } from '../../nodes/shared/lead/trace';
import { InhouseCrmSandbox } from '../../sandbox/inhouseCrm';
import { LeadSquaredSandbox } from '../../sandbox/leadsquared';
import { deletePrefix, redisCredential, testRedis, uniquePrefix } from '../support/redis';
import { addJson, eventually } from '../support/streams';
import { activateTrigger, errorOf, outputOf, runWorkflow, type ActiveTrigger } from '../../scripts/engine-harness/run-workflow';
import { crmSyncConsumerWorkflow, crmSyncWorkflow } from './workflows/crm-sync-workflow';

/**
 * Issue 25 (CRM Sync): in-run waits bounded below the claim, the push lease renewed and the
 * completion fenced, no blind re-create after a lost reply or a takeover, one outcome per item,
 * and a LeadSquared plan limit that never dead-letters a lead.
 */
const prefix = uniquePrefix('crmfault');
let redis: Redis;
let store: RedisLeadStore;
let ns = '';
let n = 0;
let lsq: LeadSquaredSandbox;
let crm: InhouseCrmSandbox;
const active: ActiveTrigger[] = [];

beforeAll(() => {
	redis = testRedis();
	store = new RedisLeadStore(redis);
});
beforeEach(async () => {
	ns = `${prefix}${++n}`;
	// LeadSquared without duplicate detection on the trace id: only the node can prevent a double.
	lsq = await LeadSquaredSandbox.start({ rateLimit: 100, windowMs: 1_000, dedupeField: null });
	crm = await InhouseCrmSandbox.start();
});
afterEach(async () => {
	await Promise.all(active.splice(0).map(async (t) => await t.close()));
	await lsq.close();
	await crm.close();
	closeHttpAgents();
});
afterAll(async () => {
	await deletePrefix(redis, prefix);
	await deletePrefix(redis, 'lead-pipeline:crm-rate:');
	redis.disconnect();
});

async function seed(lead: { name?: string; phone?: string; email?: string }, stream = `${ns}:syncQueue`) {
	const traceId = newTraceId();
	const keys = { ...(lead.phone ? { phone: lead.phone } : {}), ...(lead.email ? { email: lead.email } : {}) };
	const verdict = await store.checkAndRecord({ traceId, namespace: ns, keys, windowSeconds: 3600, lead: { channel: 'WEBSITE', ...lead } });
	if (verdict.duplicate) throw new Error('seed: expected an original');
	const message = { _id: verdict.opportunityId, traceID: traceId, action: 'CREATE', source: 'NO_FILTER' };
	return { opportunityId: verdict.opportunityId, traceId, message, item: { id: `${Date.now()}-${n}`, stream, deliveryCount: 1, message } as IDataObject };
}

const fast = { rateLimit: 100, rateWindowSeconds: 1, retryDelayMs: 20, timeoutMs: 2_000 };
const lsqParams = (options: Record<string, unknown> = {}) => ({ provider: 'leadsquared', opportunityEventCode: 12000, options: { ...fast, ...options } });
const inhouseParams = (options: Record<string, unknown> = {}) => ({ provider: 'inhouse', options: { ...fast, ...options } });

function credentials() {
	return {
		leadPipelineRedis: { ...redisCredential(), namespace: ns },
		leadPipelineLeadSquaredApi: { host: lsq.host, accessKey: lsq.accessKey, secretKey: lsq.secretKey, allowInternal: true },
		leadPipelineCrmApi: { baseUrl: crm.url, apiKey: crm.apiKey, allowInternal: true },
	};
}

async function sync(items: IDataObject[], parameters: Record<string, unknown>): Promise<IRun> {
	return await runWorkflow(crmSyncWorkflow(parameters), { input: items, credentials: credentials(), mode: 'trigger' });
}

const outputs = (run: IRun) => ({ synced: outputOf(run, 'CRM Sync', 0), skipped: outputOf(run, 'CRM Sync', 1), failed: outputOf(run, 'CRM Sync', 2) });

/** What the CRM retry queue holds for a stream: the parked sync messages with their due times. */
async function parked(stream: string): Promise<IDataObject[]> {
	const values = await redis.hvals(`${stream}:scheduled:envelopes`);
	return values.map((v) => JSON.parse(v) as IDataObject);
}

const opportunitiesOf = (traceId: string) => lsq.opportunities.filter((o) => Object.values(o.Fields).includes(traceId));

describe('in-run waits are bounded; longer ones go to the retry queue', () => {
	test('Retry-After longer than the bound: the execution does not sleep, the item is parked in the retry queue until then, the lease is given back', async () => {
		const s = await seed({ phone: '+6581230001' });
		crm.failNext('/leads', { status: 429, body: { error: 'slow down' }, headers: { 'retry-after': '120' } }, 1, 'GET');
		const started = Date.now();
		const run = await sync([s.item], inhouseParams({ retryQueue: true, maxWaitSeconds: 2 }));
		expect(Date.now() - started).toBeLessThan(5_000);
		expect(errorOf(run)).toBeUndefined();
		const { synced, failed } = outputs(run);
		expect([synced, failed]).toEqual([[], []]);
		const [entry] = await parked(`${ns}:syncQueue`);
		expect(entry).toMatchObject({ _id: s.opportunityId, traceID: s.traceId });
		expect(Number(entry.notBefore) - Date.now()).toBeGreaterThan(100_000);
		expect(((await store.getOpportunity(ns, s.opportunityId))!.crm as IDataObject | undefined)?.pushState).toBeUndefined();
	}, 30_000);

	test('a wait bound above what a claim allows is refused on the node with the reason', async () => {
		const s = await seed({ phone: '+6581230002' });
		const run = await sync([s.item], inhouseParams({ maxWaitSeconds: 600 }));
		expect(errorOf(run)).toMatch(/Longest Wait/);
		expect(run.data.resultData.error).toMatchObject({ description: expect.stringMatching(/claim timeout/) });
	});
});

describe('the push lease is renewed while working and the completion is fenced', () => {
	test('a CRM that answers after the lease would have expired: the lease is renewed, a concurrent delivery does not take over, one opportunity', async () => {
		const s = await seed({ phone: '+919845001001' });
		lsq.delayNext('OpportunityManagement.svc/Capture', 3_000);
		const params = lsqParams({ leaseSeconds: 1.5, timeoutMs: 6_000 });
		const first = sync([s.item], params);
		await new Promise((r) => setTimeout(r, 2_200));
		const second = await sync([s.item], lsqParams({ leaseSeconds: 1.5, timeoutMs: 6_000, waitForPushSeconds: 0 }));
		const firstRun = await first;
		expect(outputs(firstRun).synced).toEqual([expect.objectContaining({ opportunityId: s.opportunityId })]);
		expect(errorOf(second) ?? '').toMatch(/being pushed to the CRM by another execution/);
		expect(opportunitiesOf(s.traceId)).toHaveLength(1);
		expect(lsq.leads).toHaveLength(1);
	}, 30_000);

	test('fenced completion: a holder whose lapsed lease was taken over records nothing, and cannot renew it back', async () => {
		const s = await seed({ phone: '+919845001004' });
		await store.acquirePushLease(ns, s.opportunityId, 100, 'slow-holder');
		await new Promise((r) => setTimeout(r, 150));
		expect((await store.acquirePushLease(ns, s.opportunityId, 60_000, 'taker')).state).toBe('expired');
		expect(await store.renewPushLease(ns, s.opportunityId, 'slow-holder', 60_000)).toBe(false);
		const late = await store.completePush(ns, s.opportunityId, { system: 'LEADSQUARED', leadId: 'l', opportunityId: 'o' }, { by: 'test', traceId: s.traceId }, 'slow-holder');
		expect(late).toMatchObject({ changed: false, lost: true });
		expect((await store.getOpportunity(ns, s.opportunityId))?.isPushed).toBeUndefined();
		expect(await store.renewPushLease(ns, s.opportunityId, 'taker', 60_000)).toBe(true);
		expect(await store.completePush(ns, s.opportunityId, { system: 'LEADSQUARED', leadId: 'l', opportunityId: 'o' }, { by: 'test', traceId: s.traceId }, 'taker')).toMatchObject({ changed: true });
	});

	test('takeover of an expired LeadSquared push: the search finds the lead and the opportunity by trace id, nothing created twice', async () => {
		const s = await seed({ phone: '+919845001002' });
		// An execution died after LeadSquared created the lead and the opportunity.
		const lead = lsq.seedLead({ FirstName: 'Asha', Phone: '+91-9845001002' });
		lsq.seedOpportunity({ RelatedProspectId: lead.ProspectID, OpportunityEventCode: 12000, Fields: { Status: 'Open', mx_Custom_1: s.traceId } });
		await store.acquirePushLease(ns, s.opportunityId, 200, 'killed-execution');
		await new Promise((r) => setTimeout(r, 300));
		const { synced } = outputs(await sync([s.item], lsqParams()));
		expect(synced).toEqual([expect.objectContaining({ recoveredExpiredLease: true, leadCreated: false, opportunityExisted: true })]);
		expect(lsq.requestsTo('Lead.Capture')).toHaveLength(0);
		expect(lsq.requestsTo('OpportunityManagement.svc/Capture')).toHaveLength(0);
		expect(opportunitiesOf(s.traceId)).toHaveLength(1);
	});

	test('lost reply on the opportunity create: never sent again blindly; the next attempt searches, finds it and records it', async () => {
		const s = await seed({ phone: '+919845001003' });
		lsq.delayNext('OpportunityManagement.svc/Capture', 1_500);
		const params = lsqParams({ timeoutMs: 500, leaseSeconds: 1 });
		const first = await sync([s.item], params);
		expect(errorOf(first)).toMatch(/opportunity capture: .*looks it up first/);
		expect(lsq.requestsTo('OpportunityManagement.svc/Capture')).toHaveLength(1);
		// The lease is left to lapse (the CRM may still be writing); the next delivery takes over.
		const lease = ((await store.getOpportunity(ns, s.opportunityId))!.crm as { lease: { until: number } }).lease;
		await new Promise((r) => setTimeout(r, Math.max(0, lease.until - Date.now()) + 100));
		const { synced } = outputs(await sync([s.item], params));
		expect(synced).toEqual([expect.objectContaining({ recoveredExpiredLease: true, opportunityExisted: true, crmOpportunityId: opportunitiesOf(s.traceId)[0].OpportunityId })]);
		expect(lsq.requestsTo('OpportunityManagement.svc/Capture')).toHaveLength(1);
		expect(opportunitiesOf(s.traceId)).toHaveLength(1);
		expect((await store.getOpportunity(ns, s.opportunityId))?.isPushed).toBe(true);
	}, 30_000);
});

describe('one outcome per item', () => {
	test('one item failing: the others succeed, the failing one is queued with its own error, the untried ones are returned untried; the execution succeeds', async () => {
		const ok = await seed({ phone: '+919845001101' });
		// Only this one is looked up by email: the fault below hits it alone.
		const bad = await seed({ email: 'bad@example.com' });
		const later = await seed({ phone: '+919845001103' });
		lsq.failNext('Leads.GetByEmailaddress', { status: 500, body: { Status: 'Error', ExceptionType: 'MXInternalException', ExceptionMessage: 'database down' } }, 3);
		// Concurrent Pushes 1: in item order, so the third is never started after the second fails.
		const run = await sync([ok.item, bad.item, later.item], lsqParams({ retryQueue: true, concurrentPushes: 1 }));
		expect(errorOf(run)).toBeUndefined();
		expect(outputs(run).synced.map((o) => o.opportunityId)).toEqual([ok.opportunityId]);
		const held = await parked(`${ns}:syncQueue`);
		const of = (id: string) => held.find((e) => e._id === id)?.crmRetry as IDataObject | undefined;
		expect(of(bad.opportunityId)).toMatchObject({ attempts: 1, lastError: expect.stringMatching(/database down/) });
		expect(of(later.opportunityId)).toMatchObject({ attempts: 0 });
		expect(of(later.opportunityId)?.lastError).toBeUndefined();
		expect(of(ok.opportunityId)).toBeUndefined();
	}, 30_000);
});

/** The CRM Sync node of workflows/crm-sync.json, switched to LeadSquared as a user would. */
function templateCrmSync(): { parameters: Record<string, unknown>; consumer: IDataObject } {
	const template = JSON.parse(readFileSync(path.join(__dirname, '../../workflows/crm-sync.json'), 'utf8')) as { nodes: Array<{ name: string; type: string; parameters: Record<string, unknown> }> };
	const node = template.nodes.find((x) => x.name === 'CRM Sync')!;
	const consumer = template.nodes.find((x) => x.name === 'Sync queue')!.parameters;
	return { parameters: { ...node.parameters, provider: 'leadsquared', opportunityEventCode: 12000 }, consumer: consumer as IDataObject };
}

describe('LeadSquared plan limit through the consumer, with the template settings', () => {
	test('plan limit 5 calls in 5 s, 20 leads, the template\'s CRM Sync options: 20 of 20 arrive, none dead-lettered, no doubles', async () => {
		await lsq.close();
		lsq = await LeadSquaredSandbox.start({ rateLimit: 5, windowMs: 5_000 });
		const { parameters, consumer } = templateCrmSync();
		const stream = `${ns}:syncQueue`;
		const dlq = `${ns}:DLQsync`;
		const seeded = await Promise.all(Array.from({ length: 20 }, async (_, i) => await seed({ phone: `+9198450020${String(i).padStart(2, '0')}` }, stream)));
		await addJson(redis, stream, seeded.map((s) => s.message));
		const options = consumer.options as IDataObject;
		const trigger = await activateTrigger(
			crmSyncConsumerWorkflow({ stream, group: 'syncQueueProcessor', consumer: 'a', batchSize: Number(consumer.batchSize), maxRetries: Number(options.maxRetries), dlqStream: dlq }, parameters),
			{ credentials: credentials() },
		);
		active.push(trigger);
		// The template's release: a Schedule Trigger running CRM Sync's "Release Due Retries".
		let releasing = true;
		const release = (async () => {
			while (releasing) {
				await runWorkflow(crmSyncWorkflow({ ...parameters, operation: 'releaseDueRetries', stream }), { credentials: credentials(), mode: 'trigger' });
				await new Promise((r) => setTimeout(r, 1_000));
			}
		})();
		try {
			await eventually(async () => {
				const pushed = await Promise.all(seeded.map(async (s) => (await store.getOpportunity(ns, s.opportunityId))?.isPushed === true));
				return pushed.every(Boolean) || (await redis.xlen(dlq)) > 0;
			}, 170_000, '20 leads pushed');
		} finally {
			releasing = false;
			await release;
		}
		expect(await redis.xlen(dlq)).toBe(0);
		for (const s of seeded) expect(opportunitiesOf(s.traceId)).toHaveLength(1);
		expect(lsq.leads).toHaveLength(20);
		expect(trigger.runs.flatMap((r) => outputOf(r, 'CRM Sync', 2))).toEqual([]);
	}, 200_000);
});
