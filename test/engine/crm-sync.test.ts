import type Redis from 'ioredis';
import type { IDataObject, IRun } from 'n8n-workflow';

import { closeHttpAgents } from '../../nodes/shared/http';
import type { FiltrationProcess } from '../../nodes/shared/lead/lead';
import { RedisLeadStore } from '../../nodes/shared/store/redisStore';
import { newTraceId } from '../../nodes/shared/lead/trace';
import { InhouseCrmSandbox } from '../../sandbox/inhouseCrm';
import { LeadSquaredSandbox } from '../../sandbox/leadsquared';
import { deletePrefix, redisCredential, testRedis, uniquePrefix } from '../support/redis';
import { addJson, eventually, pendingCount } from '../support/streams';
import { activateTrigger, errorOf, outputOf, runWorkflow, type ActiveTrigger } from '../../scripts/engine-harness/run-workflow';
import { crmSyncConsumerWorkflow, crmSyncWorkflow } from './workflows/crm-sync-workflow';

const prefix = uniquePrefix('crm');
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
	lsq = await LeadSquaredSandbox.start({ rateLimit: 100, windowMs: 1_000 });
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

interface Seeded {
	opportunityId: string;
	traceId: string;
	/** As the Redis Stream Consumer Trigger delivers a syncQueue entry. */
	item: IDataObject;
	message: IDataObject;
}

async function seed(
	lead: { name?: string; phone?: string; email?: string; destination?: string },
	route?: { process: FiltrationProcess; stage: string },
	keys: Record<string, string> = { ...(lead.phone ? { phone: lead.phone } : {}), ...(lead.email ? { email: lead.email } : {}) },
): Promise<Seeded> {
	const traceId = newTraceId();
	const verdict = await store.checkAndRecord({ traceId, namespace: ns, keys, windowSeconds: 3600, lead: { channel: 'WEBSITE', ...lead } });
	if (verdict.duplicate) throw new Error('seed: expected an original');
	if (route) await store.setFiltration(ns, verdict.opportunityId, { by: 'test', traceId, ...route });
	const message = { _id: verdict.opportunityId, traceID: traceId, action: 'CREATE', source: route?.process ?? 'NO_FILTER' };
	return { opportunityId: verdict.opportunityId, traceId, message, item: { id: `${Date.now()}-0`, stream: 'syncQueue', deliveryCount: 1, message } };
}

const fast = { rateLimit: 100, rateWindowSeconds: 1, retryDelayMs: 20, timeoutMs: 2_000 };

function lsqParams(extra: Record<string, unknown> = {}, options: Record<string, unknown> = {}) {
	return { provider: 'leadsquared', opportunityEventCode: 12000, ...extra, options: { ...fast, ...options } };
}

function inhouseParams(options: Record<string, unknown> = {}) {
	return { provider: 'inhouse', options: { ...fast, ...options } };
}

function credentials() {
	return {
		leadPipelineRedis: { ...redisCredential(), namespace: ns },
		leadPipelineLeadSquaredApi: { host: lsq.host, accessKey: lsq.accessKey, secretKey: lsq.secretKey, allowInternal: true },
		leadPipelineCrmApi: { baseUrl: crm.url, apiKey: crm.apiKey, allowInternal: true },
	};
}

async function sync(items: IDataObject[], parameters: Record<string, unknown>, mode: 'trigger' | 'manual' = 'trigger', creds = credentials()): Promise<IRun> {
	return await runWorkflow(crmSyncWorkflow(parameters), { input: items, credentials: creds, mode });
}

const outputs = (run: IRun) => ({ synced: outputOf(run, 'CRM Sync', 0), skipped: outputOf(run, 'CRM Sync', 1), failed: outputOf(run, 'CRM Sync', 2) });

describe('CRM Sync to LeadSquared, through the n8n engine on real Redis and the LeadSquared sandbox', () => {
	test('new lead: Lead.Capture with SearchBy, opportunity with the event code and the trace id; ids written back with the audit entry; first follow-up recorded', async () => {
		const s = await seed({ name: 'Asha', phone: '+919845098450', email: 'asha@example.com', destination: 'Goa' });
		const run = await sync([s.item], lsqParams({ defaultOwner: 'user-0042' }));
		const { synced, skipped, failed } = outputs(run);
		expect([skipped, failed]).toEqual([[], []]);
		expect(lsq.leads).toHaveLength(1);
		expect(lsq.opportunities).toHaveLength(1);
		const [lead] = lsq.leads;
		const [opp] = lsq.opportunities;
		expect(lead).toMatchObject({ FirstName: 'Asha', Phone: '+91-9845098450', EmailAddress: 'asha@example.com', OwnerId: 'user-0042', Source: 'WEBSITE' });
		expect(opp).toMatchObject({ RelatedProspectId: lead.ProspectID, OpportunityEventCode: 12000, Fields: { Status: 'Open', mx_Custom_1: s.traceId, mx_Custom_2: 'Goa', Owner: 'user-0042' } });
		expect(lsq.requestsTo('RetrieveLeadByPhoneNumber')[0].query.get('phone')).toBe('919845098450');
		expect(synced).toEqual([
			expect.objectContaining({ kind: 'synced', opportunityId: s.opportunityId, traceId: s.traceId, crmPlatform: 'LEADSQUARED', crmLeadId: lead.ProspectID, crmOpportunityId: opp.OpportunityId, leadCreated: true, matchedOn: 'created' }),
		]);
		const stored = await store.getOpportunity(ns, s.opportunityId);
		expect(stored).toMatchObject({
			isPushed: true,
			crm: { pushState: 'pushed', system: 'LEADSQUARED', leadId: lead.ProspectID, crmLeadId: lead.ProspectID, leadSquadId: lead.ProspectID, opportunityId: opp.OpportunityId, crmStageMeta: { stage: 'FRESH_LEAD', platform: 'LEADSQUARED' }, owner: { crmUserId: 'user-0042' } },
		});
		const dueAt = Date.parse(((stored!.crm as IDataObject).firstFollowUp as IDataObject).dueAt as string);
		expect(dueAt - Date.now()).toBeGreaterThan(23.9 * 3_600_000);
		expect((await store.auditTrail(ns, s.opportunityId)).map((e) => e.action)).toEqual(expect.arrayContaining(['pushLease', 'pushCompleted']));
	});

	test('existing lead by phone in another format (+91-98450 98450 vs +919845098450): only the opportunity is created, on that lead', async () => {
		const existing = lsq.seedLead({ FirstName: 'Asha', Phone: '+91-98450 98450' });
		const s = await seed({ name: 'Asha R', phone: '+919845098450' });
		const { synced } = outputs(await sync([s.item], lsqParams()));
		expect(lsq.leads).toHaveLength(1);
		expect(lsq.requestsTo('Lead.Capture')).toHaveLength(0);
		expect(lsq.opportunities).toEqual([expect.objectContaining({ RelatedProspectId: existing.ProspectID })]);
		expect(synced[0]).toMatchObject({ crmLeadId: existing.ProspectID, leadCreated: false, matchedOn: 'phone' });
	});

	test('existing lead by email: found after the phone lookup misses, the opportunity goes to it', async () => {
		const existing = lsq.seedLead({ FirstName: 'Ben', EmailAddress: 'Ben@Example.com' });
		const s = await seed({ name: 'Ben', phone: '+447911123456', email: 'ben@example.com' });
		const { synced } = outputs(await sync([s.item], lsqParams()));
		expect(lsq.leads).toHaveLength(1);
		expect(lsq.opportunities).toEqual([expect.objectContaining({ RelatedProspectId: existing.ProspectID })]);
		expect(synced[0]).toMatchObject({ crmLeadId: existing.ProspectID, matchedOn: 'email', leadCreated: false });
	});

	test('UPCOMING destination: skipped with the reason, marked UPCOMING_FRESH_LEAD, the CRM untouched', async () => {
		const s = await seed({ phone: '+919845000101', destination: 'Mars' }, { process: 'UPCOMING', stage: 'NEW' });
		const { synced, skipped } = outputs(await sync([s.item], lsqParams()));
		expect(synced).toEqual([]);
		expect(skipped).toEqual([expect.objectContaining({ kind: 'skipped', opportunityId: s.opportunityId, reason: expect.stringMatching(/UPCOMING/) })]);
		expect(lsq.requests).toHaveLength(0);
		expect(await store.getOpportunity(ns, s.opportunityId)).toMatchObject({ stage: 'UPCOMING_FRESH_LEAD' });
		expect((await store.auditTrail(ns, s.opportunityId)).map((e) => e.action)).toContain('transitionStage');
	});

	test('already pushed: a second delivery is Skipped with the reason and the CRM ids, nothing sent', async () => {
		const s = await seed({ phone: '+919845000102' });
		const first = outputs(await sync([s.item], lsqParams()));
		const sent = lsq.requests.length;
		const again = outputs(await sync([s.item], lsqParams()));
		expect(again.synced).toEqual([]);
		expect(again.skipped).toEqual([expect.objectContaining({ reason: 'already pushed to the CRM', crmLeadId: first.synced[0].crmLeadId, crmOpportunityId: first.synced[0].crmOpportunityId })]);
		expect(lsq.requests).toHaveLength(sent);
		expect(lsq.opportunities).toHaveLength(1);
	});

	test('429 then success: the node waits the plan window and retries', async () => {
		lsq.failNext('Lead.Capture', { status: 429, body: { Status: 'Error', ExceptionType: 'MXAPIRateLimitExceededException', ExceptionMessage: 'API calls exceeded the limit of 5 in 5 second(s)' } });
		const s = await seed({ phone: '+919845000103' });
		const started = Date.now();
		const { synced } = outputs(await sync([s.item], lsqParams({}, { rateWindowSeconds: 1 })));
		expect(Date.now() - started).toBeGreaterThanOrEqual(900);
		expect(synced).toHaveLength(1);
		expect(lsq.requestsTo('Lead.Capture')).toHaveLength(2);
		expect(lsq.leads).toHaveLength(1);
	});

	test('the per-credential limiter keeps under the plan limit across concurrent executions: no 429 from LeadSquared', async () => {
		await lsq.close();
		lsq = await LeadSquaredSandbox.start({ rateLimit: 3, windowMs: 1_000 });
		const seeded = await Promise.all([0, 1, 2, 3].map((i) => seed({ phone: `+91984500020${i}` })));
		const params = lsqParams({}, { rateLimit: 3, rateWindowSeconds: 1 });
		const runs = await Promise.all([sync(seeded.slice(0, 2).map((s) => s.item), params), sync(seeded.slice(2).map((s) => s.item), params)]);
		expect(runs.flatMap((r) => outputs(r).synced)).toHaveLength(4);
		expect(lsq.limiter.rejected).toBe(0);
		expect(lsq.opportunities).toHaveLength(4);
	});

	test('500 three times: the execution fails (the consumer retries / dead-letters), the lease is given back, the next delivery syncs', async () => {
		lsq.failNext('RetrieveLeadByPhoneNumber', { status: 500, body: { Status: 'Error', ExceptionType: 'MXInternalException', ExceptionMessage: 'Internal server error' } }, 3);
		const s = await seed({ phone: '+919845000104' });
		const run = await sync([s.item], lsqParams());
		expect(errorOf(run)).toMatch(/LeadSquared lead lookup by phone: HTTP 500 Internal server error \(3 attempts\)/);
		expect(run.data.resultData.error).toMatchObject({ description: expect.stringMatching(/redelivers the message/) });
		expect(lsq.requestsTo('RetrieveLeadByPhoneNumber')).toHaveLength(3);
		expect(outputs(await sync([s.item], lsqParams())).synced).toHaveLength(1);
	});

	test('timeouts after LeadSquared carried the requests out: no second lead, no second opportunity', async () => {
		const s = await seed({ phone: '+919845000105' });
		// Lead.Capture is an upsert on SearchBy: retried inline after the timeout, it updates the same lead.
		lsq.delayNext('Lead.Capture', 1_500);
		// The opportunity capture is not retried inline: the execution fails, the lease stays until it expires.
		lsq.delayNext('OpportunityManagement.svc/Capture', 1_500);
		const params = lsqParams({}, { timeoutMs: 500, leaseSeconds: 2 });
		const first = await sync([s.item], params);
		expect(errorOf(first)).toMatch(/opportunity capture: .*no complete response within 500 ms.*looks it up first/);
		expect(lsq.leads).toHaveLength(1);
		expect(lsq.opportunities).toHaveLength(1);
		// Redelivered at once, not waiting: the lease is still live, so it is refused rather than racing the CRM.
		expect(errorOf(await sync([s.item], lsqParams({}, { timeoutMs: 500, leaseSeconds: 2, waitForPushSeconds: 0 })))).toMatch(/being pushed to the CRM by another execution/);
		const lease = ((await store.getOpportunity(ns, s.opportunityId))!.crm as { lease: { until: number } }).lease;
		await new Promise((r) => setTimeout(r, Math.max(0, lease.until - Date.now()) + 50));
		const { synced } = outputs(await sync([s.item], params));
		expect(synced).toEqual([expect.objectContaining({ recoveredExpiredLease: true, leadCreated: false, opportunityExisted: true, crmOpportunityId: lsq.opportunities[0].OpportunityId })]);
		expect(lsq.leads).toHaveLength(1);
		expect(lsq.opportunities).toHaveLength(1);
	});

	test('a push lease left by an execution that died (n8n killed mid-push) is waited out, then the CRM is looked up first: the batch is not failed and retried until it is dead-lettered', async () => {
		const s = await seed({ phone: '+919845000120' });
		const other = await seed({ phone: '+919845000121' });
		await store.acquirePushLease(ns, s.opportunityId, 1_500, 'killed-execution');
		// Not waiting: the whole batch fails for the consumer to retry (the old behaviour, still an option).
		expect(errorOf(await sync([other.item, s.item], lsqParams({}, { waitForPushSeconds: 0 })))).toMatch(/being pushed to the CRM by another execution/);
		const { synced, skipped } = outputs(await sync([other.item, s.item], lsqParams()));
		expect(skipped.map((o) => o.opportunityId)).toEqual([other.opportunityId]); // pushed by the failed batch before it stopped
		expect(synced).toEqual([expect.objectContaining({ opportunityId: s.opportunityId, recoveredExpiredLease: true, leadCreated: true })]);
		expect(lsq.opportunities.filter((o) => JSON.stringify(o).includes(s.traceId))).toHaveLength(1);
	});

	test('a lease that outlasts Wait for a Push in Progress is not waited for: the execution fails at once', async () => {
		const s = await seed({ phone: '+919845000122' });
		await store.acquirePushLease(ns, s.opportunityId, 60_000, 'another-execution');
		const started = Date.now();
		expect(errorOf(await sync([s.item], lsqParams({}, { waitForPushSeconds: 5 })))).toMatch(/being pushed to the CRM by another execution/);
		expect(Date.now() - started).toBeLessThan(5_000);
	});

	test('permanent 4xx: the item goes to Failed with LeadSquared\'s message verbatim; the lease is given back', async () => {
		const s = await seed({ phone: '+919845000106' });
		const { failed, synced } = outputs(await sync([s.item], lsqParams({ opportunityEventCode: 999 })));
		expect(synced).toEqual([]);
		expect(failed).toEqual([expect.objectContaining({ kind: 'failed', opportunityId: s.opportunityId, status: 400, crmMessage: 'Invalid Opportunity Event Code 999', crmErrorType: 'MXInvalidInputException' })]);
		expect(((await store.getOpportunity(ns, s.opportunityId))!.crm as IDataObject).pushState).toBeUndefined();
	});

	test('an item without an opportunity id goes to Failed with the field named', async () => {
		const { failed } = outputs(await sync([{ id: '1-0', message: { traceID: 'x' } }], lsqParams()));
		expect(failed).toEqual([expect.objectContaining({ field: '_id', error: expect.stringMatching(/no opportunity id/) })]);
	});

	test('secrets never reach errors or item output (wrong key → Failed; 500s → thrown error)', async () => {
		const s = await seed({ phone: '+919845000107' });
		const wrong = { ...credentials(), leadPipelineLeadSquaredApi: { host: lsq.host, accessKey: lsq.accessKey, secretKey: 'wrong-secret-4242', allowInternal: true } };
		const refused = await sync([s.item], lsqParams(), 'trigger', wrong);
		expect(outputs(refused).failed[0]).toMatchObject({ status: 401, crmMessage: 'Invalid AccessKey or SecretKey' });
		lsq.failNext('RetrieveLeadByPhoneNumber', { status: 500, body: { Status: 'Error', ExceptionType: 'X', ExceptionMessage: `echo ${lsq.secretKey} ${lsq.accessKey}` } }, 3);
		const thrown = await sync([s.item], lsqParams());
		expect(errorOf(thrown)).toMatch(/HTTP 500 echo \*\*\* \*\*\*/);
		for (const run of [refused, thrown]) {
			const text = JSON.stringify(run);
			for (const secret of [lsq.accessKey, lsq.secretKey, 'wrong-secret-4242']) expect(text).not.toContain(secret);
		}
	});

	test('manual (editor) run: lookups only, testRun output, nothing created, no lease taken; the option writes', async () => {
		const s = await seed({ name: 'Asha', phone: '+919845000108' });
		const { synced } = outputs(await sync([s.item], lsqParams(), 'manual'));
		expect(synced).toEqual([expect.objectContaining({ kind: 'testRun', testRun: true, wouldCreateLead: true, wouldCreateOpportunity: true })]);
		expect(lsq.requests.filter((r) => r.method === 'POST')).toEqual([]);
		expect(lsq.leads).toEqual([]);
		const stored = await store.getOpportunity(ns, s.opportunityId);
		expect(stored?.crm).toBeUndefined();
		expect(stored?.isPushed).toBeUndefined();
		const written = outputs(await sync([s.item], lsqParams({}, { writeInTestRuns: true }), 'manual'));
		expect(written.synced).toEqual([expect.objectContaining({ kind: 'synced' })]);
		expect(lsq.opportunities).toHaveLength(1);
	});

	test('two executions with the same sync message at once: exactly one CRM lead and one opportunity', async () => {
		lsq.delayNext('Lead.Capture', 300);
		const s = await seed({ phone: '+919845000109' });
		const runs = await Promise.all([sync([s.item], lsqParams()), sync([s.item], lsqParams())]);
		expect(lsq.leads).toHaveLength(1);
		expect(lsq.opportunities).toHaveLength(1);
		const synced = runs.filter((r) => !errorOf(r) && outputOf(r, 'CRM Sync', 0).length === 1);
		expect(synced).toHaveLength(1);
		const other = runs.find((r) => r !== synced[0])!;
		expect(errorOf(other) ?? outputOf(other, 'CRM Sync', 1)[0]?.reason).toMatch(/being pushed to the CRM by another execution|already pushed/);
	});
});

describe('CRM Sync behind the Redis Stream Consumer Trigger', () => {
	test('two consumers given the same sync message twice: one lead, one opportunity, both entries acknowledged', async () => {
		lsq.delayNext('Lead.Capture', 400);
		const s = await seed({ phone: '+919845000110' });
		const stream = `${ns}:syncQueue`;
		await addJson(redis, stream, [s.message, s.message]);
		// One entry per execution, so each consumer takes one copy and the two push at the same time.
		const triggers: ActiveTrigger[] = [];
		for (const consumer of ['a', 'b']) {
			const trigger = await activateTrigger(crmSyncConsumerWorkflow({ stream, group: 'syncQueueProcessor', consumer, batchSize: 1 }, lsqParams()), { credentials: credentials() });
			triggers.push(trigger);
			active.push(trigger);
		}
		await eventually(async () => (await store.getOpportunity(ns, s.opportunityId))?.isPushed === true && (await pendingCount(redis, stream, 'syncQueueProcessor')) === 0, 30_000, 'push and acks');
		expect(lsq.leads).toHaveLength(1);
		expect(lsq.opportunities).toHaveLength(1);
		const runs = triggers.flatMap((t) => t.runs);
		// The race happened: one delivery met the other's live lease, waited for it (no failed
		// execution, no redelivery) and was skipped once the other had pushed.
		expect(runs.map(errorOf)).toEqual([undefined, undefined]);
		expect(runs.flatMap((r) => outputOf(r, 'CRM Sync', 1))).toEqual([expect.objectContaining({ reason: expect.stringMatching(/already pushed/) })]);
	});

	test('500 on every attempt: the consumer dead-letters the sync message after Max Retries, nothing created', async () => {
		lsq.failNext('RetrieveLeadByPhoneNumber', { status: 500, body: { Status: 'Error', ExceptionType: 'MXInternalException', ExceptionMessage: 'Internal server error' } }, 1_000);
		const s = await seed({ phone: '+919845000111' });
		const stream = `${ns}:syncQueue`;
		const dlq = `${ns}:DLQsync`;
		await addJson(redis, stream, [s.message]);
		active.push(await activateTrigger(crmSyncConsumerWorkflow({ stream, group: 'syncQueueProcessor', consumer: 'a', maxRetries: 2, dlqStream: dlq }, lsqParams()), { credentials: credentials() }));
		await eventually(async () => (await redis.xlen(dlq)) === 1, 30_000, 'dead letter');
		const [[, fields]] = (await redis.xrange(dlq, '-', '+')) as Array<[string, string[]]>;
		expect(fields.join(' ')).toMatch(/HTTP 500 Internal server error/);
		expect(lsq.leads).toEqual([]);
	});
});

describe('CRM Sync to the in-house CRM, through the n8n engine and the in-house sandbox', () => {
	test('new lead: POST /leads, /opportunities (crmStageMeta), /follow-ups, each with Idempotency-Key = traceId; Bearer key checked', async () => {
		const s = await seed({ name: 'Chen', phone: '+6581234567', email: 'chen@example.com', destination: 'Bali' });
		const { synced } = outputs(await sync([s.item], inhouseParams()));
		expect(crm.leads).toEqual([expect.objectContaining({ name: 'Chen', phone: '+6581234567', email: 'chen@example.com', source: 'WEBSITE' })]);
		expect(crm.opportunities).toEqual([expect.objectContaining({ leadId: crm.leads[0].id, traceId: s.traceId, opportunityId: s.opportunityId, stage: 'FRESH_LEAD', crmStageMeta: { stage: 'FRESH_LEAD', source: 'lead-pipeline' }, fields: { destination: 'Bali' } })]);
		expect(crm.followUps).toEqual([expect.objectContaining({ opportunityId: crm.opportunities[0].id, type: 'REMINDER' })]);
		for (const path of ['/leads', '/opportunities', '/follow-ups']) {
			expect(crm.requests.filter((r) => r.method === 'POST' && r.path === path).map((r) => r.headers['idempotency-key'])).toEqual([s.traceId]);
		}
		expect(synced[0]).toMatchObject({ crmPlatform: 'INHOUSE', crmLeadId: crm.leads[0].id, crmOpportunityId: crm.opportunities[0].id, followUp: { crmId: crm.followUps[0].id } });
	});

	test('the sales person assigned in the lead store owns the CRM lead and opportunity (over the default)', async () => {
		const s = await seed({ phone: '+919845000115' });
		await store.assignSalesPerson(ns, s.opportunityId, { by: 'test', traceId: s.traceId, salesPerson: 'crm-user-7' });
		const { synced } = outputs(await sync([s.item], { ...inhouseParams(), defaultOwner: 'crm-user-default' }));
		expect(crm.leads[0]).toMatchObject({ ownerId: 'crm-user-7' });
		expect(crm.opportunities[0]).toMatchObject({ ownerId: 'crm-user-7' });
		expect(synced[0]).toMatchObject({ owner: { crmUserId: 'crm-user-7' } });
		expect((await store.getOpportunity(ns, s.opportunityId))!.crm).toMatchObject({ owner: { crmUserId: 'crm-user-7' } });
	});

	test('existing lead by phone in another format: only the opportunity', async () => {
		const existing = crm.seedLead({ name: 'Asha', phone: '+91-98450 98450' });
		const s = await seed({ phone: '+919845098450' });
		const { synced } = outputs(await sync([s.item], inhouseParams()));
		expect(crm.leads).toHaveLength(1);
		expect(crm.opportunities).toEqual([expect.objectContaining({ leadId: existing.id })]);
		expect(synced[0]).toMatchObject({ matchedOn: 'phone', leadCreated: false });
	});

	test('timeout after the CRM created the lead: the retry with the same Idempotency-Key gets it back, no second lead', async () => {
		crm.delayNext('/leads', 1_200, 1, 'POST');
		const s = await seed({ phone: '+919845000112' });
		const { synced } = outputs(await sync([s.item], inhouseParams({ timeoutMs: 400 })));
		expect(crm.requests.filter((r) => r.method === 'POST' && r.path === '/leads')).toHaveLength(2);
		expect(crm.leads).toHaveLength(1);
		expect(crm.opportunities).toHaveLength(1);
		expect(synced[0]).toMatchObject({ crmLeadId: crm.leads[0].id });
	});

	test('a batch pushes its opportunities side by side (Concurrent Pushes, default 10), but one person\'s opportunities one after another: one CRM lead per person', async () => {
		// Every CRM call takes 150 ms: pushed one by one, no two requests could arrive closer than that.
		for (const path of ['/leads', '/opportunities', '/follow-ups']) crm.delayNext(path, 150, 1_000);
		const people = await Promise.all(Array.from({ length: 8 }, async (_, i) => await seed({ name: `P${i}`, phone: `+9198450002${String(i).padStart(2, '0')}` })));
		// Two opportunities of one person (same phone: one profile), told apart by email only.
		const first = await seed({ name: 'Twice', phone: '+919845000299', email: 'twice.1@example.com' }, undefined, { email: 'twice.1@example.com' });
		const second = await seed({ name: 'Twice', phone: '+919845000299', email: 'twice.2@example.com' }, undefined, { email: 'twice.2@example.com' });
		const items = [first.item, ...people.map((p) => p.item), second.item];
		const { synced, skipped, failed } = outputs(await sync(items, inhouseParams()));
		expect([skipped, failed]).toEqual([[], []]);
		expect(synced.map((o) => o.opportunityId)).toEqual([first, ...people, second].map((s) => s.opportunityId));
		const arrivals = crm.requests.map((r) => r.receivedAt).sort((a, b) => a - b);
		const closest = Math.min(...arrivals.slice(1).map((at, i) => at - arrivals[i]));
		expect(closest).toBeLessThan(50);
		expect(crm.leads.filter((l) => l.phone === '+919845000299')).toHaveLength(1);
		expect(crm.opportunities.filter((o) => o.leadId === crm.leads.find((l) => l.phone === '+919845000299')!.id)).toHaveLength(2);
		expect(crm.leads).toHaveLength(9);
		expect(crm.opportunities).toHaveLength(10);
	});

	test('Concurrent Pushes 1: one push after another, in item order', async () => {
		const seeded = await Promise.all(Array.from({ length: 3 }, async (_, i) => await seed({ phone: `+9198450003${String(i).padStart(2, '0')}` })));
		await sync(seeded.map((s) => s.item), inhouseParams({ concurrentPushes: 1 }));
		expect(crm.opportunities.map((o) => o.opportunityId)).toEqual(seeded.map((s) => s.opportunityId));
	});

	test('429 with Retry-After, then success; the API key never appears in the output or errors', async () => {
		crm.failNext('/opportunities', { status: 429, body: { error: 'Too many requests' }, headers: { 'retry-after': '1' } });
		const s = await seed({ phone: '+919845000113' });
		const run = await sync([s.item], inhouseParams());
		expect(outputs(run).synced).toHaveLength(1);
		expect(crm.requestsTo('/opportunities')).toHaveLength(2);
		const bad = await sync([(await seed({ phone: '+919845000114' })).item], inhouseParams(), 'trigger', { ...credentials(), leadPipelineCrmApi: { baseUrl: crm.url, apiKey: 'ihk_wrong_key_777', allowInternal: true } });
		expect(outputs(bad).failed[0]).toMatchObject({ status: 401, crmMessage: 'Invalid or missing API key' });
		for (const text of [JSON.stringify(run), JSON.stringify(bad)]) {
			expect(text).not.toContain(crm.apiKey);
			expect(text).not.toContain('ihk_wrong_key_777');
		}
	});
});
