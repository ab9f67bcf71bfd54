import type { IDataObject, INodeParameters, IRun } from 'n8n-workflow';

import type { FiltrationProcess } from '../../nodes/shared/lead/lead';
import { initialStage } from '../../nodes/shared/lead/stages';
import { dedupeKeysOf } from '../../nodes/shared/store/contract';
import { RedisLeadStore } from '../../nodes/shared/store/redisStore';
import { newTraceId } from '../../nodes/shared/lead/trace';
import { deletePrefix, redisCredential, testRedis, uniquePrefix } from '../support/redis';
import { runWorkflow } from '../../scripts/engine-harness/run-workflow';
import { qualifyWorkflow } from './workflows/qualify-workflow';

const prefix = uniquePrefix('qualify');
const redis = testRedis();
const store = new RedisLeadStore(redis);
let ns = '';
let n = 0;

beforeEach(() => {
	ns = `${prefix}${++n}`;
});
afterAll(async () => {
	await deletePrefix(redis, prefix);
	redis.disconnect();
});

/** A routed opportunity as Filter Router leaves it, and the item that carries it. */
async function routed(process: FiltrationProcess, leadData: IDataObject = {}, channel = 'WEBSITE'): Promise<IDataObject> {
	const traceId = newTraceId();
	const lead = { channel: channel as 'WEBSITE', name: 'Asha', phone: `+9198450${String(Math.floor(Math.random() * 1e5)).padStart(5, '0')}`, destination: 'Goa', ...leadData };
	const verdict = await store.checkAndRecord({ traceId, namespace: ns, keys: dedupeKeysOf(lead, { phone: true, email: false, nameDestination: false }), windowSeconds: 3600, lead });
	if (verdict.duplicate) throw new Error('expected an original');
	await store.setFiltration(ns, verdict.opportunityId, { by: 'Filter Router', traceId, process, stage: initialStage(process) });
	return { message: { source: channel, traceId, leadData: { ...lead, source: { channel }, traceId } }, opportunityId: verdict.opportunityId, leadId: verdict.leadId, filtrationProcess: process };
}

const qualify = (parameters: INodeParameters, input: IDataObject[], mode: 'trigger' | 'manual' = 'trigger') =>
	runWorkflow(qualifyWorkflow(parameters), { input, mode, credentials: { leadPipelineRedis: { ...redisCredential(), namespace: ns, syncQueue: `${ns}:syncQueue` } } });

/** Items on a named output ([] when that output got none, so its No-Op did not run). */
const on = (run: IRun, name: string): IDataObject[] => {
	if (run.data.resultData.error) throw new Error(run.data.resultData.error.message);
	return (run.data.resultData.runData[name]?.[0]?.data?.main?.[0] ?? []).map((i) => i.json);
};
const syncEntries = async () => (await redis.xrange(`${ns}:syncQueue`, '-', '+')).map(([, f]) => JSON.parse(f[1]) as IDataObject);
const stageOf = async (item: IDataObject) => (await store.getOpportunity(ns, item.opportunityId as string))!.stage;

describe('Qualify, through the n8n engine on real Redis', () => {
	test('Transition Stage: legal moves are saved with an audit entry; illegal ones go to Rejected with from, to, allowed', async () => {
		const item = await routed('PSV');
		const move = (toStage: string, strict = true) => qualify({ operation: 'transitionStage', toStage, strict, changedBy: 'agent:priya' }, [item]);

		const skip = await move('QUALIFIED');
		expect(on(skip, 'Rejected')[0]).toMatchObject({ rejected: { from: 'FRESH_LEAD', to: 'QUALIFIED', allowed: ['IN_PROGRESS', 'DROPPED'], reason: 'PSV does not allow FRESH_LEAD → QUALIFIED in strict mode' } });
		expect(await stageOf(item)).toBe('FRESH_LEAD');

		expect(on(await move('IN_PROGRESS'), 'Done')[0]).toMatchObject({ stage: 'IN_PROGRESS', changed: true });
		expect(on(await move('IN_PROGRESS'), 'Done')[0]).toMatchObject({ stage: 'IN_PROGRESS', changed: false });
		expect(on(await move('FRESH_LEAD'), 'Rejected')[0]).toMatchObject({ rejected: { from: 'IN_PROGRESS', to: 'FRESH_LEAD', allowed: ['QUALIFIED', 'DROPPED'] } });
		expect((await store.auditTrail(ns, item.opportunityId as string)).map((e) => [e.action, e.from, e.to, e.by])).toEqual([
			['setFiltration', { stage: 'NEW' }, { filtrationProcess: 'PSV', stage: 'FRESH_LEAD' }, 'Filter Router'],
			['transitionStage', 'FRESH_LEAD', 'IN_PROGRESS', 'agent:priya'],
		]);

		// Reaching the qualified stage promotes it, once.
		expect(on(await move('QUALIFIED'), 'Done')[0]).toMatchObject({ stage: 'QUALIFIED', promotedAt: expect.any(String), syncEntryId: expect.any(String) });
		expect(on(await move('QUALIFIED'), 'Done')[0]).toMatchObject({ stage: 'QUALIFIED', syncQueued: 'already' });
		expect(await syncEntries()).toEqual([{ _id: item.opportunityId, traceID: (item.message as IDataObject).traceId, action: 'PROMOTE_FROM_FILTER', source: 'PSV' }]);
	});

	test('Transition Stage: not strict allows skipping; UNKNOWN/UPCOMING admin promotions; a pushed opportunity never changes', async () => {
		const west = await routed('WEST');
		expect(on(await qualify({ operation: 'transitionStage', toStage: 'QUALIFIED', strict: false }, [west]), 'Done')[0]).toMatchObject({ stage: 'QUALIFIED' });
		const unknown = await routed('UNKNOWN');
		expect(on(await qualify({ operation: 'transitionStage', toStage: 'UNKNOWN_QUALIFIED' }, [unknown]), 'Done')[0]).toMatchObject({ stage: 'UNKNOWN_QUALIFIED', syncEntryId: expect.any(String) });
		const pushed = await routed('PSV');
		await store.completePush(ns, pushed.opportunityId as string, { system: 'leadsquared', leadId: 'P-1' }, { by: 'CRM Sync', traceId: 't' });
		expect(on(await qualify({ operation: 'transitionStage', toStage: 'IN_PROGRESS' }, [pushed]), 'Rejected')[0]).toMatchObject({ rejected: { from: 'FRESH_LEAD', to: 'IN_PROGRESS', allowed: [], reason: expect.stringMatching(/already in the CRM/) } });
		expect((await syncEntries()).map((e) => e.source)).toEqual(['WEST', 'UNKNOWN']);
	});

	test('Qualify: criteria and score (source weight + ex-client bonus); Not Qualified lists what is unmet; Qualified is promoted exactly once over two runs', async () => {
		const good = await routed('PSV', {}, 'WHATSAPP');
		const exClient: IDataObject = { ...(await routed('WEST')), scoreBonus: 15 };
		const thin = await routed('PSV', { name: undefined, destination: 'UNKNOWN' });
		const params = { operation: 'qualify', requiredFields: 'name, phone', minScore: 20, sourceWeights: '{"WEBSITE": 10, "WHATSAPP": 20}' };
		const first = await qualify(params, [good, exClient, thin]);
		expect(on(first, 'Qualified').map((o) => [o.opportunityId, o.score, o.stage])).toEqual([[good.opportunityId, 20, 'QUALIFIED'], [exClient.opportunityId, 25, 'QUALIFIED']]);
		expect(on(first, 'Not Qualified')).toEqual([expect.objectContaining({ opportunityId: thin.opportunityId, qualified: false, score: 10, unmet: ['name is missing', 'destination is unknown', 'score 10 is below 20'] })]);
		const second = await qualify(params, [good, exClient, thin]);
		expect(on(second, 'Qualified').map((o) => o.syncQueued)).toEqual(['already', 'already']);
		expect(await syncEntries()).toEqual([
			{ _id: good.opportunityId, traceID: (good.message as IDataObject).traceId, action: 'PROMOTE_FROM_FILTER', source: 'PSV' },
			{ _id: exClient.opportunityId, traceID: (exClient.message as IDataObject).traceId, action: 'PROMOTE_FROM_FILTER', source: 'WEST' },
		]);
		expect((await store.getOpportunity(ns, good.opportunityId as string))!.promotedAt).toBe(on(first, 'Qualified')[0].promotedAt);
	});

	test('Qualify by opportunity id alone (an agent webhook) reads the required fields from the person behind it', async () => {
		const good = await routed('PSV', {}, 'WHATSAPP');
		const byId = await qualify({ operation: 'qualify', requiredFields: 'name, phone' }, [{ opportunityId: good.opportunityId }]);
		expect(on(byId, 'Not Qualified')).toEqual([]);
		expect(on(byId, 'Qualified')[0]).toMatchObject({ opportunityId: good.opportunityId, qualified: true });
	});

	test('Qualify: UPCOMING needs a sales person; NO_FILTER is not qualified here', async () => {
		const upcoming = await routed('UPCOMING', { destination: 'Bali' });
		const noFilter = await routed('NO_FILTER');
		const params = { operation: 'qualify', requiredFields: '' };
		expect(on(await qualify(params, [upcoming, noFilter]), 'Not Qualified').map((o) => o.unmet)).toEqual([
			['no sales person assigned'],
			['NO_FILTER opportunities go to the CRM directly and are not qualified here'],
		]);
		await store.assignSalesPerson(ns, upcoming.opportunityId as string, { by: 'admin', traceId: 't', salesPerson: 'ravi' });
		expect(on(await qualify(params, [upcoming]), 'Qualified')[0]).toMatchObject({ stage: 'UPCOMING_QUALIFIED' });
		expect((await syncEntries()).map((e) => e.source)).toEqual(['UPCOMING']);
	});

	test('Assign Sales Person: round robin shared across executions (kept in Redis), a redelivery keeps its assignment, or from the item', async () => {
		const items = [await routed('PSV'), await routed('PSV'), await routed('PSV')];
		const params = { operation: 'assignSalesPerson', assignFrom: 'list', salesPeople: 'priya, ravi' };
		const one = await qualify(params, items.slice(0, 2));
		const two = await qualify(params, items.slice(2));
		expect([...on(one, 'Done'), ...on(two, 'Done')].map((o) => o.salesPerson)).toEqual(['priya', 'ravi', 'priya']);
		expect(on(await qualify(params, [items[1]]), 'Done')[0]).toMatchObject({ salesPerson: 'ravi', changed: false });
		expect((await store.getOpportunity(ns, items[1].opportunityId as string))!.salesPerson).toBe('ravi');
		const fromItem = await routed('WEST');
		expect(on(await qualify({ operation: 'assignSalesPerson', assignFrom: 'item', salesPerson: '={{ $json.agent }}' }, [{ ...fromItem, agent: 'meera' }]), 'Done')[0]).toMatchObject({ salesPerson: 'meera', changed: true });
		expect((await store.auditTrail(ns, fromItem.opportunityId as string)).at(-1)).toMatchObject({ action: 'assignSalesPerson', to: 'meera' });
	});

	test('an editor test run shows the outcome (testRun: true) but writes nothing, sends nothing and does not turn the rotation', async () => {
		const item = await routed('PSV', {}, 'WHATSAPP');
		const before = await store.getOpportunity(ns, item.opportunityId as string);
		expect(on(await qualify({ operation: 'qualify', sourceWeights: '{"WHATSAPP": 20}' }, [item], 'manual'), 'Qualified')[0]).toMatchObject({ qualified: true, stage: 'QUALIFIED', testRun: true });
		expect(on(await qualify({ operation: 'transitionStage', toStage: 'IN_PROGRESS' }, [item], 'manual'), 'Done')[0]).toMatchObject({ stage: 'IN_PROGRESS', testRun: true });
		expect(on(await qualify({ operation: 'assignSalesPerson', salesPeople: 'priya, ravi' }, [item], 'manual'), 'Done')[0]).toMatchObject({ salesPerson: 'priya', testRun: true });
		expect(await store.getOpportunity(ns, item.opportunityId as string)).toEqual(before);
		expect(await redis.exists(`${ns}:syncQueue`, `${ns}:salesRoundRobin:default`)).toBe(0);
	});

	test('an item without an opportunity in the store: an error saying where to look', async () => {
		const run = await qualify({ operation: 'qualify' }, [{ opportunityId: 'opp_nope' }]);
		expect(run.data.resultData.error).toMatchObject({ message: `No opportunity opp_nope in namespace ${ns}`, description: expect.stringMatching(/Pipeline Settings/) });
	});
});
