import type { IDataObject, INodeParameters, IRun } from 'n8n-workflow';

import { initialStage } from '../../nodes/shared/lead/stages';
import type { FiltrationProcess } from '../../nodes/shared/lead/lead';
import { dedupeKeysOf } from '../../nodes/shared/store/contract';
import { RedisLeadStore } from '../../nodes/shared/store/redisStore';
import { newTraceId } from '../../nodes/shared/lead/trace';
import { breakMetrics, countsToday } from '../support/metrics';
import { deletePrefix, redisCredential, testRedis, uniquePrefix } from '../support/redis';
import { outputOf, runWorkflow } from '../../scripts/engine-harness/run-workflow';
import { dedupeWorkflow } from './workflows/dedupe-workflow';
import { filterRouterWorkflow } from './workflows/filter-router-workflow';
import { qualifyWorkflow } from './workflows/qualify-workflow';

// Dedupe Leads, Filter Router and Qualify count their decisions (issue 15), through the engine.
const prefix = uniquePrefix('metrics-decisions');
const redis = testRedis();
const store = new RedisLeadStore(redis);
let ns = '';
let n = 0;
const credentials = () => ({ leadPipelineRedis: { ...redisCredential(), namespace: ns, syncQueue: `${ns}:syncQueue`, timeZone: 'Asia/Kolkata' } });

beforeEach(() => {
	ns = `${prefix}${++n}`;
});
afterAll(async () => {
	await deletePrefix(redis, prefix);
	redis.disconnect();
});

function queued(leadData: IDataObject): IDataObject {
	const traceId = newTraceId();
	return { id: `${Date.now()}-0`, stream: 'filterQueue', deliveryCount: 1, message: { source: 'WEBSITE', traceId, leadData: { source: { channel: 'WEBSITE' }, ...leadData, traceId } } };
}

const phone = () => `+9198450${String(Math.floor(Math.random() * 1e5)).padStart(5, '0')}`;

const dedupe = (input: IDataObject[], mode: 'trigger' | 'manual' = 'trigger', options: IDataObject = {}) =>
	runWorkflow(dedupeWorkflow({ options }, undefined, 2), { input, credentials: credentials(), mode });

const dedupeOutputs = (run: IRun) => ({ fresh: outputOf(run, 'Dedupe', 0), duplicates: outputOf(run, 'Dedupe', 1) });

/** An opportunity Dedupe recorded (and, with a process, Filter Router routed), as the item that carries it. */
async function opportunity(process?: FiltrationProcess): Promise<IDataObject> {
	const traceId = newTraceId();
	const lead = { channel: 'WEBSITE' as const, name: 'Asha', phone: phone(), destination: 'Goa' };
	const verdict = await store.checkAndRecord({ traceId, namespace: ns, keys: dedupeKeysOf(lead, { phone: true, email: false, nameDestination: false }), windowSeconds: 3600, lead });
	if (verdict.duplicate) throw new Error('expected an original');
	if (process) await store.setFiltration(ns, verdict.opportunityId, { by: 'test', traceId, process, stage: initialStage(process) });
	return { id: '1-0', message: { source: 'WEBSITE', traceId, leadData: { ...lead, source: { channel: 'WEBSITE' }, traceId } }, opportunityId: verdict.opportunityId, leadId: verdict.leadId };
}

describe('Dedupe Leads counts new and duplicate{matchedOn}', () => {
	test('per verdict, in the UTC day and the time zone day; a redelivered batch is not counted twice', async () => {
		const shared = phone();
		const batch = [queued({ phone: shared }), queued({ phone: shared, email: 'b@example.com' }), queued({ email: 'c@example.com' }), queued({ email: 'c@example.com' })];
		await dedupe(batch);
		const counts = { new: 2, 'duplicate|phone': 1, 'duplicate|email': 1 };
		expect(await countsToday(redis, ns)).toEqual(counts);
		const zoned = await redis.keys(`${ns}:metrics:day:Asia/Kolkata:*`);
		expect(zoned).toHaveLength(1);

		await dedupe(batch);
		expect(await countsToday(redis, ns)).toEqual(counts);
	});

	test('a refused metrics write leaves the verdicts and outputs as they are', async () => {
		const batch = [queued({ phone: phone() }), queued({ email: 'x@example.com' })];
		await breakMetrics(redis, ns);
		const run = await dedupe(batch);
		expect(run.data.resultData.error).toBeUndefined();
		expect(dedupeOutputs(run).fresh).toHaveLength(2);
		expect(dedupeOutputs(run).fresh[0]).toMatchObject({ isDuplicate: false, opportunityId: expect.stringMatching(/^opp_/) });
		expect(await redis.type(`${ns}:metrics:seen:${new Date().toISOString().slice(0, 10)}`)).toBe('none');
	});

	test('editor test runs and Record Metrics off count nothing', async () => {
		await dedupe([queued({ phone: phone() })], 'manual', { checkOnly: 'never' });
		await dedupe([queued({ phone: phone() })], 'trigger', { recordMetrics: false });
		expect(await countsToday(redis, ns)).toEqual({});
	});
});

describe('Filter Router counts routed{process}', () => {
	const rules: INodeParameters = {
		rules: { rule: [{ process: 'WEST', combine: 'all', conditions: { condition: [{ field: 'destination', operator: 'inList', expected: 'Goa' }] } }] },
		destinationMap: '{ "Dubai": "PSV" }',
		defaultProcess: 'UNKNOWN',
	};
	const route = (input: IDataObject[], mode: 'trigger' | 'manual' = 'trigger', extra: INodeParameters = {}) =>
		runWorkflow(filterRouterWorkflow({ ...rules, ...extra }), { input, credentials: credentials(), mode });

	test('per routed item, once per traceId, also without Save to Lead Store', async () => {
		const goa = await opportunity();
		const dubai = { ...(await opportunity()) };
		((dubai.message as IDataObject).leadData as IDataObject).destination = 'Dubai';
		await route([goa, dubai]);
		await route([goa, dubai]);
		expect(await countsToday(redis, ns)).toEqual({ 'routed|WEST': 1, 'routed|PSV': 1 });

		await route([queued({ phone: phone(), destination: 'Mars' })], 'trigger', { persist: false });
		expect(await countsToday(redis, ns)).toEqual({ 'routed|WEST': 1, 'routed|PSV': 1, 'routed|UNKNOWN': 1 });
	});

	test('a refused metrics write does not fail the routing; test runs count nothing', async () => {
		await breakMetrics(redis, ns);
		const run = await route([await opportunity()]);
		expect(outputOf(run, 'WEST')[0]).toMatchObject({ filtrationProcess: 'WEST', stage: 'FRESH_LEAD' });
		await redis.del((await redis.keys(`${ns}:metrics:day:*`))[0]);
		await route([await opportunity()], 'manual');
		expect(await countsToday(redis, ns)).toEqual({});
	});
});

describe('Qualify counts stage{from,to} and qualified{process}', () => {
	const qualify = (parameters: INodeParameters, input: IDataObject[], mode: 'trigger' | 'manual' = 'trigger') =>
		runWorkflow(qualifyWorkflow(parameters), { input, mode, credentials: credentials() });

	test('legal transitions and promotions, each once; rejected moves count nothing', async () => {
		const item = await opportunity('PSV');
		const move = (toStage: string) => qualify({ operation: 'transitionStage', toStage }, [item]);
		await move('QUALIFIED'); // not allowed in strict mode
		expect(await countsToday(redis, ns)).toEqual({});
		await move('IN_PROGRESS');
		await move('IN_PROGRESS');
		await move('QUALIFIED');
		await move('QUALIFIED');
		expect(await countsToday(redis, ns)).toEqual({ 'stage|FRESH_LEAD|IN_PROGRESS': 1, 'stage|IN_PROGRESS|QUALIFIED': 1, 'qualified|PSV': 1 });
	});

	test('Qualify operation: promotion counts qualified and the stage it skips to', async () => {
		const item = await opportunity('WEST');
		const run = await qualify({ operation: 'qualify', requireDestination: false }, [item]);
		expect(outputOf(run, 'Qualify', 0)[0]).toMatchObject({ qualified: true, stage: 'QUALIFIED' });
		await qualify({ operation: 'qualify', requireDestination: false }, [item]);
		expect(await countsToday(redis, ns)).toEqual({ 'stage|FRESH_LEAD|QUALIFIED': 1, 'qualified|WEST': 1 });
	});

	test('a refused metrics write does not fail the move; test runs count nothing', async () => {
		await breakMetrics(redis, ns);
		const item = await opportunity('PSV');
		const run = await qualify({ operation: 'transitionStage', toStage: 'IN_PROGRESS' }, [item]);
		expect(outputOf(run, 'Qualify', 0)[0]).toMatchObject({ stage: 'IN_PROGRESS', changed: true });
		await redis.del((await redis.keys(`${ns}:metrics:day:*`))[0]);
		await qualify({ operation: 'transitionStage', toStage: 'QUALIFIED' }, [item], 'manual');
		expect(await countsToday(redis, ns)).toEqual({});
	});
});
