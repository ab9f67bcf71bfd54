import type { IDataObject } from 'n8n-workflow';

import { newTraceId } from '../../nodes/shared/lead/trace';
import { deletePrefix, redisCredential, testRedis, uniquePrefix } from '../support/redis';
import { errorOf, outputOf, runWorkflow } from '../../scripts/engine-harness/run-workflow';
import { dedupeWorkflow } from './workflows/dedupe-workflow';

const prefix = uniquePrefix('dedupe');
const credentials = { leadPipelineRedis: redisCredential() };
let ns = '';
let n = 0;

beforeEach(() => {
	ns = `${prefix}${++n}`;
});
afterAll(async () => {
	const redis = testRedis();
	await deletePrefix(redis, prefix);
	redis.disconnect();
});

/** A consumed filter-queue item: { id, stream, deliveryCount, message: { source, leadData, traceId } }. */
function queued(leadData: IDataObject): IDataObject {
	const traceId = (leadData.traceId as string) ?? newTraceId();
	return { id: `${Date.now()}-0`, stream: 'filterQueue', deliveryCount: 1, message: { source: 'WEBSITE', traceId, leadData: { source: { channel: 'WEBSITE' }, ...leadData, traceId } } };
}

/** A production run (mode "trigger", as when the consumer trigger starts it). */
async function dedupe(input: IDataObject[], parameters: Record<string, unknown> = {}, onError?: string) {
	const run = await runWorkflow(dedupeWorkflow({ namespace: ns, ...parameters }, onError), { input, credentials, mode: 'trigger' });
	return run;
}

async function keysUnder(namespace: string): Promise<string[]> {
	const redis = testRedis();
	const keys: string[] = [];
	let cursor = '0';
	do {
		const [next, found] = await redis.scan(cursor, 'MATCH', `${namespace}:*`, 'COUNT', 1000);
		keys.push(...found);
		cursor = next;
	} while (cursor !== '0');
	redis.disconnect();
	return keys.sort();
}

const outputs = (run: Awaited<ReturnType<typeof dedupe>>) => ({ fresh: outputOf(run, 'Dedupe', 0), duplicates: outputOf(run, 'Dedupe', 1) });

describe('Dedupe Leads, through the n8n engine on real Redis', () => {
	test('New gets opportunityId, leadId, isNewProfile; Duplicate gets duplicateOf, matchedOn, reason; redelivery repeats the verdicts', async () => {
		const a = queued({ name: 'Asha', phone: '+919845098450', destination: 'Goa' });
		const b = queued({ name: 'Asha R', phone: '+919845098450', email: 'asha@example.com' });
		const c = queued({ name: 'Ben', email: 'ben@example.com' });
		const first = outputs(await dedupe([a, b, c]));
		const aTrace = (a.message as IDataObject).traceId as string;
		expect(first.fresh.map((o) => o.message)).toEqual([a.message, c.message]);
		expect(first.fresh[0]).toMatchObject({ isDuplicate: false, opportunityId: `opp_${aTrace}`, leadId: expect.stringMatching(/^lead_/), isNewProfile: true });
		expect(first.duplicates).toEqual([
			expect.objectContaining({
				message: b.message,
				isDuplicate: true,
				duplicateOf: { traceId: aTrace, opportunityId: `opp_${aTrace}` },
				matchedOn: 'phone',
				reason: expect.stringMatching(/same phone as lead/),
			}),
		]);

		const again = outputs(await dedupe([a, b, c]));
		expect(again).toEqual(first);
	});

	test('an item with nothing to match on fails with the reason; Continue On Fail keeps it with the error; Pass Through keeps it as new', async () => {
		const nobody = queued({ name: 'Nobody' });
		const failed = await dedupe([nobody]);
		expect(errorOf(failed)).toMatch(/Cannot dedupe item 0: the lead has no phone, no email and no name \+ destination/);

		const kept = outputs(await dedupe([nobody, queued({ phone: '+447911123456' })], {}, 'continueRegularOutput'));
		expect(kept.fresh[0]).toMatchObject({ error: expect.stringMatching(/no phone, no email/) });
		expect(kept.fresh[1]).toMatchObject({ isDuplicate: false });

		const passed = outputs(await dedupe([nobody], { noKey: 'passThrough' }));
		expect(passed.fresh).toEqual([expect.objectContaining({ dedupeSkipped: expect.stringMatching(/no phone/) })]);
	});

	test('fields that are null (as a Set node or a form may hand them over) count as absent, for an original and for its repeat', async () => {
		const first = queued({ name: 'Chen', phone: null, waId: null, email: 'chen@example.com', destination: null });
		const out = outputs(await dedupe([first, queued({ name: null, phone: null, email: 'CHEN@example.com' })]));
		expect(out.fresh).toEqual([expect.objectContaining({ isDuplicate: false, isNewProfile: true })]);
		expect(out.duplicates).toEqual([expect.objectContaining({ matchedOn: 'email' })]);
		expect(outputs(await dedupe([first])).fresh).toEqual([expect.objectContaining({ isDuplicate: false })]);
	});

	test('Mark and Continue sends duplicates to New, marked', async () => {
		const out = outputs(await dedupe([queued({ email: 'x@example.com' }), queued({ email: 'X@example.com' })], { onDuplicate: 'continue' }));
		expect(out.fresh.map((o) => [o.isDuplicate, o.matchedOn])).toEqual([[false, undefined], [true, 'email']]);
		expect(out.duplicates).toEqual([]);
	});

	test('only the switched-on keys match', async () => {
		const out = outputs(await dedupe([queued({ phone: '+919845000001', email: 'same@example.com' }), queued({ phone: '+919845000002', email: 'same@example.com' })], { matchOn: ['phone'] }));
		expect(out.fresh).toHaveLength(2);
	});

	test('ex-client check tags the lead and adds the score bonus', async () => {
		const out = outputs(await dedupe([queued({ phone: '+919845000009' }), queued({ email: 'new@example.com' })], { exClients: 'list', exClientList: '+919845000009, old@example.com', exClientBonus: 15 }));
		expect(out.fresh.map((o) => [o.tags, o.scoreBonus])).toEqual([[['ex-client'], 15], [undefined, undefined]]);
	});

	test('race: two engine runs at once over 1,000 leads sharing 100 phones give exactly 100 originals and 900 duplicates', async () => {
		const leads = Array.from({ length: 1000 }, (_, i) => queued({ name: `L${i}`, phone: `+9198450${String(100 + (i % 100)).padStart(3, '0')}99` }));
		const [one, two] = await Promise.all([dedupe(leads.filter((_, i) => i % 2 === 0)), dedupe(leads.filter((_, i) => i % 2 === 1))]);
		const results = [outputs(one), outputs(two)];
		const fresh = results.flatMap((r) => r.fresh);
		const duplicates = results.flatMap((r) => r.duplicates);
		expect(fresh).toHaveLength(100);
		expect(duplicates).toHaveLength(900);
		expect(new Set(fresh.map((o) => (o.message as IDataObject).leadData && ((o.message as IDataObject).leadData as IDataObject).phone)).size).toBe(100);
	}, 60_000);

	test('version 2 reads the namespace from the credential\'s Pipeline Settings; Options can override it', async () => {
		const redis = testRedis();
		const lead = queued({ phone: '+919845000021' });
		const traceId = (lead.message as IDataObject).traceId as string;
		const fromCredential = { leadPipelineRedis: { ...redisCredential(), namespace: `${ns}:cred` } };
		const run = await runWorkflow(dedupeWorkflow({}, undefined, 2), { input: [lead], credentials: fromCredential, mode: 'trigger' });
		expect(outputOf(run, 'Dedupe', 0)[0]).toMatchObject({ isDuplicate: false, opportunityId: `opp_${traceId}` });
		expect(await redis.exists(`${ns}:cred:opportunity:opp_${traceId}`)).toBe(1);

		const other = queued({ phone: '+919845000021' });
		const overridden = await runWorkflow(dedupeWorkflow({ options: { namespace: `${ns}:node` } }, undefined, 2), { input: [other], credentials: fromCredential, mode: 'trigger' });
		expect(outputOf(overridden, 'Dedupe', 0)[0]).toMatchObject({ isDuplicate: false });
		expect(await redis.exists(`${ns}:node:opportunity:opp_${(other.message as IDataObject).traceId}`)).toBe(1);
		redis.disconnect();
	});

	test('version 1 workflows keep their own Store and Namespace parameters, whatever the credential says', async () => {
		const redis = testRedis();
		const lead = queued({ phone: '+919845000022' });
		const run = await runWorkflow(dedupeWorkflow({ store: 'redis', namespace: `${ns}:v1` }), { input: [lead], credentials: { leadPipelineRedis: { ...redisCredential(), namespace: `${ns}:cred` } }, mode: 'trigger' });
		expect(outputOf(run, 'Dedupe', 0)).toHaveLength(1);
		expect(await redis.exists(`${ns}:v1:opportunity:opp_${(lead.message as IDataObject).traceId}`)).toBe(1);
		expect(await redis.exists(`${ns}:cred:opportunity:opp_${(lead.message as IDataObject).traceId}`)).toBe(0);
		redis.disconnect();
	});

	test('version 2 with MongoDB chosen but no connection string: an error naming the credential field, no secret in it', async () => {
		const run = await runWorkflow(dedupeWorkflow({}, undefined, 2), {
			input: [queued({ phone: '+919845000023' })],
			credentials: { leadPipelineRedis: { ...redisCredential(), password: 'hunter2-secret', leadStore: 'mongodb', mongoConnectionString: '' } },
		});
		expect(run.data.resultData.error).toMatchObject({
			message: expect.stringMatching(/^Pipeline Settings: MongoDB Connection String must start with mongodb:\/\//),
			description: expect.stringMatching(/Lead Pipeline Redis credential/),
		});
		expect(JSON.stringify(run.data.resultData.error)).not.toContain('hunter2-secret');
	});

	test('an editor test run (manual mode) checks only: verdicts as usual, marked, and the store is left unchanged', async () => {
		const recorded = queued({ phone: '+919845000031' });
		await dedupe([recorded]);
		const before = await keysUnder(ns);
		const a = queued({ phone: '+919845000032' });
		const b = queued({ phone: '+919845000032' });
		const c = queued({ phone: '+919845000031' });
		for (const version of [1, 2]) {
			const parameters = version === 1 ? { namespace: ns } : {};
			const run = await runWorkflow(dedupeWorkflow(parameters, undefined, version), { input: [a, b, c], credentials: { leadPipelineRedis: { ...redisCredential(), namespace: ns } }, mode: 'manual' });
			expect(outputOf(run, 'Dedupe', 0)).toEqual([expect.objectContaining({ isDuplicate: false, dedupeCheckOnly: true, opportunityId: `opp_${(a.message as IDataObject).traceId}` })]);
			expect(outputOf(run, 'Dedupe', 1).map((o) => [o.matchedOn, o.dedupeCheckOnly])).toEqual([['phone', true], ['phone', true]]);
			expect(await keysUnder(ns)).toEqual(before);
		}
		// The same leads in production are recorded.
		await dedupe([a]);
		expect((await keysUnder(ns)).length).toBeGreaterThan(before.length);
	});

	test("Check Only, Don't Record: Always keeps production runs from recording; Never records a manual run", async () => {
		const a = queued({ email: 'always@example.com' });
		const checked = outputs(await dedupe([a], { options: { checkOnly: 'always' } }));
		expect(checked.fresh[0]).toMatchObject({ dedupeCheckOnly: true });
		expect(await keysUnder(ns)).toEqual([]);
		const run = await runWorkflow(dedupeWorkflow({ namespace: ns, options: { checkOnly: 'never' } }), { input: [a], credentials, mode: 'manual' });
		expect(outputOf(run, 'Dedupe', 0)[0]).not.toHaveProperty('dedupeCheckOnly');
		expect(await keysUnder(ns)).not.toEqual([]);
	});

	test('Redis unreachable: a clear connection error', async () => {
		const run = await runWorkflow(dedupeWorkflow({ namespace: ns }), { input: [queued({ phone: '+919845000003' })], credentials: { leadPipelineRedis: { ...redisCredential(), port: 1 } } });
		expect(run.data.resultData.error).toMatchObject({ message: 'Could not connect to Redis', description: 'connect ECONNREFUSED 127.0.0.1:1' });
	});
});
