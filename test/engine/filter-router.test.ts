import type { IDataObject, INodeParameters } from 'n8n-workflow';

import { RedisLeadStore } from '../../nodes/shared/store/redisStore';
import { dedupeKeysOf } from '../../nodes/shared/store/contract';
import { newTraceId } from '../../nodes/shared/lead/trace';
import { deletePrefix, redisCredential, testRedis, uniquePrefix } from '../support/redis';
import { errorOf, outputOf, runWorkflow } from '../../scripts/engine-harness/run-workflow';
import { filterRouterWorkflow } from './workflows/filter-router-workflow';

const prefix = uniquePrefix('router');
const redis = testRedis();
const store = new RedisLeadStore(redis);
let ns = '';
let n = 0;
const credentials = () => ({ leadPipelineRedis: { ...redisCredential(), namespace: ns, syncQueue: `${ns}:syncQueue` } });

beforeEach(() => {
	ns = `${prefix}${++n}`;
});
afterAll(async () => {
	await deletePrefix(redis, prefix);
	redis.disconnect();
});

/** What Dedupe Leads puts out for a queued lead: the message plus opportunityId and leadId, recorded in the store. */
async function deduped(leadData: IDataObject, channel = 'WEBSITE'): Promise<IDataObject> {
	const traceId = newTraceId();
	const lead = { channel: channel as 'WEBSITE', phone: `+9198450${String(Math.floor(Math.random() * 1e5)).padStart(5, '0')}`, ...leadData };
	const verdict = await store.checkAndRecord({ traceId, namespace: ns, keys: dedupeKeysOf(lead, { phone: true, email: false, nameDestination: false }), windowSeconds: 3600, lead });
	if (verdict.duplicate) throw new Error('expected an original');
	return { id: '1-0', message: { source: channel, traceId, leadData: { ...lead, source: { channel }, traceId } }, isDuplicate: false, opportunityId: verdict.opportunityId, leadId: verdict.leadId };
}

// The node parameters as the editor saves them when a user fills in the routing table.
const userRules: INodeParameters = {
	rules: {
		rule: [
			{ process: 'NO_FILTER', combine: 'all', conditions: { condition: [{ field: 'channel', operator: 'equals', expected: 'WHATSAPP_BOT' }] } },
			{ process: 'WEST', combine: 'all', conditions: { condition: [{ field: 'destination', operator: 'inList', expected: 'Goa, Kerala' }] } },
			{
				process: 'UPCOMING',
				combine: 'any',
				conditions: { condition: [{ field: 'value', value: '={{ $json.message.leadData.travelYear }}', operator: 'regex', expected: '^20(2[7-9]|3\\d)$' }] },
			},
		],
	},
	destinationMap: '{ "Dubai": "PSV", "Paris": "PSV" }',
	defaultProcess: 'UNKNOWN',
};

const run = (parameters: INodeParameters, input: IDataObject[], mode: 'trigger' | 'manual' = 'trigger', onError?: string) =>
	runWorkflow(filterRouterWorkflow(parameters, onError), { input, credentials: credentials(), mode });

describe('Filter Router, through the n8n engine on real Redis', () => {
	test('each route: rule on channel, rule on destination list, rule on an expression value, destination map, default; saved to the opportunity with an audit entry', async () => {
		const items = [
			await deduped({ destination: 'Goa' }, 'WHATSAPP_BOT'),
			await deduped({ destination: 'kerala' }),
			await deduped({ destination: 'Mars', travelYear: '2029' }),
			await deduped({ destination: 'Dubai' }),
			await deduped({ destination: 'Atlantis' }),
		];
		const result = await run(userRules, items);
		const expected: Array<[string, string, string]> = [['NO_FILTER', 'FRESH_LEAD', 'rule 1'], ['WEST', 'FRESH_LEAD', 'rule 2'], ['UPCOMING', 'UPCOMING_FRESH_LEAD', 'rule 3'], ['PSV', 'FRESH_LEAD', 'destination map'], ['UNKNOWN', 'UNKNOWN_FRESH_LEAD', 'default']];
		for (const [i, [process, stage, routedBy]] of expected.entries()) {
			expect(outputOf(result, process)).toEqual([expect.objectContaining({ opportunityId: items[i].opportunityId, filtrationProcess: process, stage, routedBy })]);
			expect(await store.getOpportunity(ns, items[i].opportunityId as string)).toMatchObject({ filtrationProcess: process, stage });
			expect(await store.auditTrail(ns, items[i].opportunityId as string)).toEqual([expect.objectContaining({ action: 'setFiltration', by: 'Filter Router', traceId: (items[i].message as IDataObject).traceId })]);
		}
		// Active opportunities: every route but UNKNOWN.
		expect(await store.activeOpportunities(ns, items[4].leadId as string)).toEqual([]);
		expect(await store.activeOpportunities(ns, items[1].leadId as string)).toEqual([items[1].opportunityId]);
	});

	test('NO_FILTER to the sync queue once: { _id, traceID, action: CREATE, source }; a redelivery keeps its route and adds nothing', async () => {
		const item = await deduped({ destination: 'Goa' }, 'WHATSAPP_BOT');
		const parameters = { ...userRules, sendNoFilter: true };
		const first = outputOf(await run(parameters, [item]), 'NO_FILTER');
		expect(first[0]).toMatchObject({ syncEntryId: expect.stringMatching(/^\d+-\d+$/) });
		// Rules edited in between: the redelivered lead keeps the route it got.
		const edited = { ...parameters, rules: { rule: [{ process: 'PSV', conditions: { condition: [{ field: 'destination', operator: 'exists' }] } }] } };
		const again = await run(edited, [item]);
		expect(outputOf(again, 'NO_FILTER')[0]).toMatchObject({ filtrationProcess: 'NO_FILTER', syncQueued: 'already' });
		expect(again.data.resultData.runData.PSV).toBeUndefined();
		const entries = await redis.xrange(`${ns}:syncQueue`, '-', '+');
		expect(entries.map(([, fields]) => JSON.parse(fields[1]))).toEqual([{ _id: item.opportunityId, traceID: (item.message as IDataObject).traceId, action: 'CREATE', source: 'WHATSAPP_BOT' }]);
	});

	test('a batch that took the sync-queue promotion but did not add the message (XADD failed, or n8n was killed) adds it when the batch comes again, inside the 60 s lease: never lost', async () => {
		const item = await deduped({ destination: 'Goa' }, 'WHATSAPP_BOT');
		const opportunityId = item.opportunityId as string;
		await redis.set(`${ns}:syncQueue`, 'not a stream'); // the XADD after the promotion fails
		const failed = await run({ ...userRules, sendNoFilter: true }, [item]);
		expect(errorOf(failed)).toMatch(/Could not add opportunity .* to the sync queue/);
		await redis.del(`${ns}:syncQueue`);
		const again = await run({ ...userRules, sendNoFilter: true }, [item], 'trigger', 'continueErrorOutput');
		expect(outputOf(again, 'NO_FILTER')).toEqual([expect.objectContaining({ opportunityId, syncEntryId: expect.stringMatching(/^\d+-\d+$/) })]);
		const entries = await redis.xrange(`${ns}:syncQueue`, '-', '+');
		expect(entries.map(([, fields]) => JSON.parse(fields[1])._id)).toEqual([opportunityId]);
	});

	test('a sync-queue write that fails goes out of the error output with the lead, never down NO_FILTER as if queued', async () => {
		const item = await deduped({ destination: 'Goa' }, 'WHATSAPP_BOT');
		await redis.set(`${ns}:syncQueue`, 'not a stream'); // XADD answers WRONGTYPE
		const result = await run({ ...userRules, sendNoFilter: true }, [item], 'trigger', 'continueErrorOutput');
		expect(result.data.resultData.runData.NO_FILTER).toBeUndefined();
		const errors = result.data.resultData.runData.Router[0].data!.main[5]!.map((i) => i.json);
		expect(errors).toEqual([expect.objectContaining({ opportunityId: item.opportunityId, message: item.message, error: expect.stringMatching(/Could not add opportunity .* to the sync queue: .*WRONGTYPE/) })]);
	});

	test('Hide Unused Outputs shows only the processes the table can reach, and items land on the right one', async () => {
		const parameters: INodeParameters = { rules: { rule: [{ process: 'WEST', conditions: { condition: [{ field: 'destination', operator: 'equals', expected: 'Goa' }] } }] }, defaultProcess: 'PSV', hideUnusedOutputs: true };
		const items = [await deduped({ destination: 'Goa' }), await deduped({ destination: 'Bali' })];
		const result = await run(parameters, items);
		expect(Object.keys(result.data.resultData.runData).sort()).toEqual(['PSV', 'Router', 'Start', 'WEST']);
		expect(result.data.resultData.runData.Router[0].data!.main).toHaveLength(2);
		expect(outputOf(result, 'PSV').map((o) => o.opportunityId)).toEqual([items[1].opportunityId]);
		expect(outputOf(result, 'WEST').map((o) => o.opportunityId)).toEqual([items[0].opportunityId]);
	});

	test('an editor test run routes and shows it (testRun: true) but changes neither the store nor the sync queue', async () => {
		const item = await deduped({ destination: 'Goa' }, 'WHATSAPP_BOT');
		const before = await store.getOpportunity(ns, item.opportunityId as string);
		const result = await run({ ...userRules, sendNoFilter: true }, [item], 'manual');
		expect(outputOf(result, 'NO_FILTER')[0]).toMatchObject({ filtrationProcess: 'NO_FILTER', testRun: true });
		expect(await store.getOpportunity(ns, item.opportunityId as string)).toEqual(before);
		expect(await redis.exists(`${ns}:syncQueue`)).toBe(0);
	});

	test('a batch is saved together, with the outcome of one-by-one saves: item order kept per output, a lead twice in the batch routed once, a failing item reported in place', async () => {
		const leads: IDataObject[] = [];
		// Every third lead goes to Dubai (PSV by the destination map), the others to Goa (WEST by rule 2).
		for (let i = 0; i < 30; i++) leads.push(await deduped({ destination: i % 3 ? 'Goa' : 'Dubai' }));
		const processOf = (lead: IDataObject) => (leads.indexOf(lead) % 3 ? 'WEST' : 'PSV');
		const missing: IDataObject = { message: { traceId: newTraceId(), leadData: { destination: 'Goa' } } };
		const batch = [...leads.slice(0, 10), leads[3], missing, ...leads.slice(10)];
		const result = await run(userRules, batch, 'trigger', 'continueRegularOutput');
		const routedTo = (process: string) => batch.filter((item) => item !== missing && processOf(item) === process).map((item) => item.opportunityId);
		expect(outputOf(result, 'WEST').map((o) => o.opportunityId)).toEqual(routedTo('WEST'));
		expect(outputOf(result, 'PSV').map((o) => o.opportunityId)).toEqual(routedTo('PSV'));
		expect(outputOf(result, 'UNKNOWN')).toEqual([expect.objectContaining({ error: 'Item 11 has no opportunityId to save the route to' })]);
		expect(await store.auditTrail(ns, leads[3].opportunityId as string)).toEqual([expect.objectContaining({ action: 'setFiltration' })]);
		for (const lead of leads) expect(await store.getOpportunity(ns, lead.opportunityId as string)).toMatchObject({ filtrationProcess: processOf(lead) });
	});

	test('mistakes reach the user: a bad rule names itself; an item without opportunityId says to put Dedupe first', async () => {
		const bad = await run({ rules: { rule: [{ process: 'PSV', conditions: { condition: [{ field: 'destination', operator: 'regex', expected: '(' }] } }] } }, [await deduped({})]);
		expect(errorOf(bad)).toMatch(/^Routing rule 1, condition 1: invalid regular expression/);
		const noOpp = await run(userRules, [{ message: { traceId: newTraceId(), leadData: { destination: 'Goa' } } }]);
		expect(bad.data.resultData.error?.description).toBe('Fix the routing table in the node parameters.');
		expect(noOpp.data.resultData.error).toMatchObject({ message: 'Item 0 has no opportunityId to save the route to', description: expect.stringMatching(/Dedupe Leads before Filter Router/) });
		const kept = await run(userRules, [{ message: { traceId: newTraceId(), leadData: { destination: 'Goa' } } }], 'trigger', 'continueRegularOutput');
		// Continue On Fail (regular output): a failed item goes to the default process (UNKNOWN: a
		// person reviews it), never down NO_FILTER, which leads straight to the CRM.
		expect(outputOf(kept, 'UNKNOWN')[0]).toMatchObject({ error: 'Item 0 has no opportunityId to save the route to' });
		expect(kept.data.resultData.runData.NO_FILTER).toBeUndefined();
	});
});
