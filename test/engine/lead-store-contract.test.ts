import type Redis from 'ioredis';
import { MongoClient } from 'mongodb';

import { dedupeKeysOf, markPushed, type CheckInput, type LeadStore } from '../../nodes/shared/store/contract';
import { MongoLeadStore } from '../../nodes/shared/store/mongoStore';
import { RedisLeadStore } from '../../nodes/shared/store/redisStore';
import { newTraceId } from '../../nodes/shared/lead/trace';
import { deletePrefix, testRedis, uniquePrefix } from '../support/redis';

const prefix = uniquePrefix('store');
const redisConnections: Redis[] = [];

interface Adapter {
	name: string;
	open(): Promise<LeadStore>;
	/** Makes every dedupe verdict and identity key of the namespace expire, as time would. */
	expireDedupe(namespace: string): Promise<void>;
}

const redisAdapter: Adapter = {
	name: 'Redis',
	open: async () => {
		const redis = testRedis();
		redisConnections.push(redis);
		return new RedisLeadStore(redis);
	},
	expireDedupe: async (namespace) => {
		const redis = testRedis();
		await deletePrefix(redis, `${namespace}:verdict:`);
		await deletePrefix(redis, `${namespace}:key:`);
		redis.disconnect();
	},
};

// Without MONGODB_URI the MongoDB suite is declared but skipped, so the summary counts its tests as
// skipped (not silently absent) and the log says why.
const MONGO_SKIP_REASON = 'SKIPPED: the MongoDB lead store contract suite (set MONGODB_URI to run it; no MongoDB server on this machine)';
const database = `lead_pipeline_test_${process.pid}`;
const mongoAdapter: Adapter = {
	name: 'MongoDB',
	open: async () => await MongoLeadStore.connect(process.env.MONGODB_URI!, database),
	expireDedupe: async (namespace) => {
		const client = await new MongoClient(process.env.MONGODB_URI!).connect();
		const escaped = namespace.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
		for (const name of ['dedupeVerdicts', 'dedupeKeys']) await client.db(database).collection(name).deleteMany({ _id: { $regex: `^${escaped}:` } } as never);
		await client.close();
	},
};
if (!process.env.MONGODB_URI) process.stdout.write(`\n*** ${MONGO_SKIP_REASON} ***\n\n`);

afterAll(async () => {
	const cleaner = testRedis();
	await deletePrefix(cleaner, prefix);
	cleaner.disconnect();
	redisConnections.forEach((r) => r.disconnect());
});

const all = { phone: true, email: true, nameDestination: true };

function contractSuite(adapter: Adapter): void {
	let store: LeadStore;
	let ns: string;
	beforeAll(async () => {
		store = await adapter.open();
	});
	afterAll(async () => await store.close());
	beforeEach(() => {
		ns = `${prefix}${adapter.name}:${newTraceId()}`;
	});

	const check = (lead: CheckInput['lead'], traceId = newTraceId(), windowSeconds = 3600) =>
		store.checkAndRecord({ traceId, namespace: ns, keys: dedupeKeysOf(lead, all), windowSeconds, lead });

	test('an original gets an opportunity and a new profile; its opportunity can be read and updated', async () => {
		const traceId = newTraceId();
		const verdict = await check({ channel: 'WEBSITE', name: 'Asha', phone: '+919845098450', destination: 'Goa' }, traceId);
		expect(verdict).toEqual({ duplicate: false, traceId, opportunityId: `opp_${traceId}`, leadId: expect.stringMatching(/^lead_/), isNewProfile: true });
		const opportunity = await store.getOpportunity(ns, `opp_${traceId}`);
		expect(opportunity).toMatchObject({ opportunityId: `opp_${traceId}`, traceId, stage: 'NEW', channel: 'WEBSITE', destination: 'Goa' });
		await store.updateOpportunity(ns, `opp_${traceId}`, { stage: 'QUALIFIED', filtrationProcess: 'PSV' });
		expect(await store.getOpportunity(ns, `opp_${traceId}`)).toMatchObject({ stage: 'QUALIFIED', filtrationProcess: 'PSV', traceId });
		await expect(store.updateOpportunity(ns, 'opp_missing', { stage: 'X' })).rejects.toThrow(/No opportunity/);
		const pushed = await markPushed(store, ns, `opp_${traceId}`, { system: 'leadsquared', id: 'LSQ-1' });
		const again = await markPushed(store, ns, `opp_${traceId}`, { system: 'leadsquared', id: 'LSQ-1' });
		expect(again.crm).toEqual(pushed.crm);
		expect(pushed).toMatchObject({ stage: 'QUALIFIED', crm: { system: 'leadsquared', id: 'LSQ-1', pushedAt: expect.any(String) } });
	});

	test('phone, then email, then name + destination; the first match in that order is reported', async () => {
		const a = await check({ channel: 'WEBSITE', phone: '+919845098450', email: 'a@example.com' });
		const b = await check({ channel: 'WEBSITE', phone: '+447911123456', email: 'b@example.com', name: 'Ben Ode', destination: 'Goa' });
		const byEmailThenPhone = await check({ channel: 'WHATSAPP', phone: '+447911123456', email: 'a@example.com' });
		expect(byEmailThenPhone).toMatchObject({ duplicate: true, matchedOn: 'phone', duplicateOf: { traceId: b.traceId } });
		expect(await check({ channel: 'WEBSITE', email: ' A@Example.com ' })).toMatchObject({ duplicate: true, matchedOn: 'email', duplicateOf: { traceId: a.traceId } });
		const byName = await check({ channel: 'INSTAGRAM_BOT', name: 'ben  ODE', destination: 'goa' });
		expect(byName).toMatchObject({ duplicate: true, matchedOn: 'nameDestination', duplicateOf: { traceId: b.traceId, opportunityId: `opp_${b.traceId}` } });
		expect(byName.duplicate && byName.reason).toMatch(/same name and destination as lead/);
	});

	test('a redelivered traceId gets the verdict it got the first time, never "duplicate of itself"', async () => {
		const lead = { channel: 'WEBSITE' as const, phone: '+919845098451' };
		const traceId = newTraceId();
		const first = await check(lead, traceId);
		expect(await check(lead, traceId)).toEqual(first);
		const dupTrace = newTraceId();
		const duplicate = await check(lead, dupTrace);
		expect(await check(lead, dupTrace)).toEqual(duplicate);
		expect(duplicate).toMatchObject({ duplicate: true, duplicateOf: { traceId } });
	});

	test('a redelivery after the verdict expired (e.g. Replay Dead Letters) keeps the stage, process and CRM state', async () => {
		const lead = { channel: 'WEBSITE' as const, phone: '+919845098454', destination: 'Goa' };
		const traceId = newTraceId();
		const first = await check(lead, traceId);
		const opportunityId = `opp_${traceId}`;
		await store.updateOpportunity(ns, opportunityId, { stage: 'IN_PROGRESS', filtrationProcess: 'PSV' });
		await markPushed(store, ns, opportunityId, { system: 'leadsquared', id: 'LSQ-9' });
		const before = await store.getOpportunity(ns, opportunityId);
		await adapter.expireDedupe(ns);
		const again = await check(lead, traceId);
		expect(again).toMatchObject({ duplicate: false, opportunityId, leadId: first.duplicate ? '' : first.leadId });
		expect(await store.getOpportunity(ns, opportunityId)).toEqual(before);
	});

	test('check only: verdicts as checkAndRecord would give them (in-batch duplicates too), nothing recorded', async () => {
		const recorded = await check({ channel: 'WEBSITE', phone: '+919845098460', email: 'rec@example.com' });
		const input = (lead: CheckInput['lead'], traceId = newTraceId()): CheckInput => ({ traceId, namespace: ns, keys: dedupeKeysOf(lead, all), windowSeconds: 3600, lead });
		const fresh = input({ channel: 'WEBSITE', phone: '+919845098461' });
		const verdicts = await store.checkOnlyMany([
			input({ channel: 'WEBSITE', email: 'REC@example.com' }),
			fresh,
			input({ channel: 'WHATSAPP', phone: '+919845098461' }),
			input({ channel: 'WEBSITE', phone: '+919845098460' }, recorded.traceId),
		]);
		expect(verdicts[0]).toMatchObject({ duplicate: true, matchedOn: 'email', duplicateOf: { traceId: recorded.traceId }, reason: expect.stringMatching(/same email/) });
		expect(verdicts[1]).toMatchObject({ duplicate: false, opportunityId: `opp_${fresh.traceId}`, isNewProfile: true });
		expect(verdicts[2]).toMatchObject({ duplicate: true, matchedOn: 'phone', duplicateOf: { traceId: fresh.traceId } });
		expect(verdicts[3]).toEqual(recorded);
		// Nothing of the checked leads was kept: the same phone recorded now is an original.
		expect(await store.getOpportunity(ns, `opp_${fresh.traceId}`)).toBeNull();
		expect(await store.checkAndRecord(input({ channel: 'WEBSITE', phone: '+919845098461' }))).toMatchObject({ duplicate: false });
	});

	test('after the window a lead with the same phone is an original again, on the same profile', async () => {
		const first = await check({ channel: 'WEBSITE', phone: '+919845098452' }, newTraceId(), 1);
		await new Promise((r) => setTimeout(r, 1_100));
		const later = await check({ channel: 'WEBSITE', phone: '+919845098452' }, newTraceId(), 1);
		expect(later).toMatchObject({ duplicate: false, isNewProfile: false });
		expect(first.duplicate === false && later.duplicate === false && later.leadId === first.leadId).toBe(true);
	});

	test('active opportunities: added per routing, never for UNKNOWN', async () => {
		const verdict = await check({ channel: 'WEBSITE', phone: '+919845098453' });
		if (verdict.duplicate) throw new Error('expected an original');
		expect(await store.addActiveOpportunity(ns, verdict.leadId, verdict.opportunityId, 'PSV')).toBe(true);
		expect(await store.addActiveOpportunity(ns, verdict.leadId, 'opp_other', 'UNKNOWN')).toBe(false);
		expect(await store.addActiveOpportunity(ns, verdict.leadId, verdict.opportunityId, 'PSV')).toBe(true);
		expect(await store.activeOpportunities(ns, verdict.leadId)).toEqual([verdict.opportunityId]);
	});

	test('active opportunities for a batch (more than one script run): results in order, UNKNOWN skipped, repeats kept once', async () => {
		const people = await Promise.all(Array.from({ length: 3 }, (_, i) => check({ channel: 'WEBSITE', phone: `+91984509846${i}` })));
		const ids = people.map((v) => {
			if (v.duplicate) throw new Error('expected an original');
			return { leadId: v.leadId, opportunityId: v.opportunityId };
		});
		const entries = Array.from({ length: 1200 }, (_, i) => ({
			leadId: ids[i % 3].leadId,
			opportunityId: `${ids[i % 3].opportunityId}-${i % 7}`,
			process: (i % 5 === 0 ? 'UNKNOWN' : 'PSV') as 'UNKNOWN' | 'PSV',
		}));
		const results = await store.addActiveOpportunities(ns, entries);
		expect(results).toEqual(entries.map((e) => e.process !== 'UNKNOWN'));
		for (let p = 0; p < 3; p++) {
			const expected = [...new Set(entries.filter((e, i) => i % 3 === p && e.process !== 'UNKNOWN').map((e) => e.opportunityId))].sort();
			expect(await store.activeOpportunities(ns, ids[p].leadId)).toEqual(expected);
		}
		expect(await store.addActiveOpportunities(ns, [])).toEqual([]);
	});

	test('getProfile: the person behind an original (phone, email, name), null for an unknown lead id', async () => {
		const verdict = await check({ channel: 'WEBSITE', phone: '+919845098454', email: 'asha@example.com', name: 'Asha' });
		if (verdict.duplicate) throw new Error('expected an original');
		expect(await store.getProfile(ns, verdict.leadId)).toMatchObject({ leadId: verdict.leadId, phone: '+919845098454', email: 'asha@example.com', name: 'Asha' });
		expect(await store.getProfile(ns, 'lead_nobody')).toBeNull();
	});

	const original = async () => {
		const verdict = await check({ channel: 'WEBSITE', phone: `+9198450${String(Math.floor(Math.random() * 1e5)).padStart(5, '0')}` });
		if (verdict.duplicate) throw new Error('expected an original');
		return verdict.opportunityId;
	};
	const actor = { by: 'Filter Router', traceId: 'trace-1' };

	test('setFiltration: process + initial stage with an audit entry; the first routing wins', async () => {
		const id = await original();
		const first = await store.setFiltration(ns, id, { ...actor, process: 'PSV', stage: 'FRESH_LEAD' });
		expect(first).toMatchObject({ changed: true, opportunity: { filtrationProcess: 'PSV', stage: 'FRESH_LEAD' } });
		const again = await store.setFiltration(ns, id, { ...actor, process: 'WEST', stage: 'FRESH_LEAD' });
		expect(again).toMatchObject({ changed: false, opportunity: { filtrationProcess: 'PSV' } });
		expect(await store.auditTrail(ns, id)).toEqual([
			{ at: expect.any(String), by: 'Filter Router', traceId: 'trace-1', action: 'setFiltration', from: { stage: 'NEW' }, to: { filtrationProcess: 'PSV', stage: 'FRESH_LEAD' } },
		]);
		await expect(store.setFiltration(ns, 'opp_missing', { ...actor, process: 'PSV', stage: 'FRESH_LEAD' })).rejects.toThrow(/No opportunity opp_missing/);
	});

	test('setFiltrationMany: a batch in input order, the first routing wins inside the batch too, a missing one is its own error', async () => {
		const a = await original();
		const b = await original();
		await store.setFiltration(ns, b, { ...actor, process: 'WEST', stage: 'FRESH_LEAD' });
		const results = await store.setFiltrationMany(ns, [
			{ opportunityId: a, input: { ...actor, process: 'PSV', stage: 'FRESH_LEAD' } },
			{ opportunityId: 'opp_missing', input: { ...actor, process: 'PSV', stage: 'FRESH_LEAD' } },
			{ opportunityId: b, input: { ...actor, process: 'PSV', stage: 'FRESH_LEAD' } },
			// The same opportunity twice in one batch (a lead delivered twice): one routing, one audit entry.
			{ opportunityId: a, input: { ...actor, process: 'UNKNOWN', stage: 'FRESH_LEAD' } },
		]);
		expect(results[1]).toBeInstanceOf(Error);
		expect((results[1] as Error).message).toMatch(/No opportunity opp_missing/);
		const ok = [results[0], results[2], results[3]] as Array<{ changed: boolean; opportunity: { filtrationProcess?: string } }>;
		expect(ok.map((r) => [r.changed, r.opportunity.filtrationProcess])).toEqual([[true, 'PSV'], [false, 'WEST'], [false, 'PSV']]);
		expect((await store.auditTrail(ns, a)).map((e) => [e.action, e.to])).toEqual([['setFiltration', { filtrationProcess: 'PSV', stage: 'FRESH_LEAD' }]]);
		expect(await store.getOpportunity(ns, a)).toMatchObject({ filtrationProcess: 'PSV', stage: 'FRESH_LEAD' });
	});

	test('transitionStage: compare-and-set on from, idempotent on a repeat, audited, refused on a pushed opportunity', async () => {
		const id = await original();
		await store.setFiltration(ns, id, { ...actor, process: 'PSV', stage: 'FRESH_LEAD' });
		const by = { by: 'agent:priya', traceId: 'trace-2' };
		expect(await store.transitionStage(ns, id, { ...by, from: 'IN_PROGRESS', to: 'QUALIFIED' })).toMatchObject({ ok: false, reason: 'conflict', opportunity: { stage: 'FRESH_LEAD' } });
		expect(await store.transitionStage(ns, id, { ...by, from: 'FRESH_LEAD', to: 'IN_PROGRESS' })).toMatchObject({ ok: true, changed: true, opportunity: { stage: 'IN_PROGRESS' } });
		expect(await store.transitionStage(ns, id, { ...by, from: 'FRESH_LEAD', to: 'IN_PROGRESS' })).toMatchObject({ ok: true, changed: false });
		expect((await store.auditTrail(ns, id)).map((e) => [e.action, e.from, e.to, e.by, e.traceId])).toEqual([
			['setFiltration', { stage: 'NEW' }, { filtrationProcess: 'PSV', stage: 'FRESH_LEAD' }, 'Filter Router', 'trace-1'],
			['transitionStage', 'FRESH_LEAD', 'IN_PROGRESS', 'agent:priya', 'trace-2'],
		]);
		expect(await store.transitionStage(ns, 'opp_missing', { ...by, to: 'X' })).toEqual({ ok: false, reason: 'missing', opportunity: null });
		await store.completePush(ns, id, { system: 'leadsquared', leadId: 'P-1', opportunityId: 'O-1' }, by);
		expect(await store.transitionStage(ns, id, { ...by, to: 'QUALIFIED' })).toMatchObject({ ok: false, reason: 'pushed' });
		expect(await store.transitionStage(ns, id, { ...by, to: 'WON', allowPushed: true })).toMatchObject({ ok: true, changed: true });
	});

	test('assignSalesPerson: recorded with an audit entry, idempotent', async () => {
		const id = await original();
		expect(await store.assignSalesPerson(ns, id, { ...actor, salesPerson: 'ravi@example.com' })).toMatchObject({ ok: true, changed: true, opportunity: { salesPerson: 'ravi@example.com' } });
		expect(await store.assignSalesPerson(ns, id, { ...actor, salesPerson: 'ravi@example.com' })).toMatchObject({ ok: true, changed: false });
		expect((await store.auditTrail(ns, id)).map((e) => [e.action, e.from, e.to])).toEqual([['assignSalesPerson', undefined, 'ravi@example.com']]);
	});

	test('promoteOnce: the first call promotes (stage, promotedAt); while it sends others wait; once sent, never again; a lapsed send is redone', async () => {
		const id = await original();
		const promote = (owner: string, leaseMs = 60_000) => store.promoteOnce(ns, id, { ...actor, stage: 'QUALIFIED', owner, leaseMs });
		const first = await promote('run-1');
		expect(first).toMatchObject({ state: 'acquired', opportunity: { stage: 'QUALIFIED', promotedAt: expect.any(String) } });
		expect((await promote('run-2')).state).toBe('leased');
		await store.promotionSent(ns, id, { ...actor, entryId: '1-0' });
		expect((await promote('run-3')).state).toBe('done');
		expect((await store.auditTrail(ns, id)).map((e) => e.action)).toEqual(['promote', 'promotionSent']);

		const other = await original();
		expect((await store.promoteOnce(ns, other, { ...actor, stage: 'QUALIFIED', owner: 'crashed', leaseMs: 1 })).state).toBe('acquired');
		await new Promise((r) => setTimeout(r, 10));
		const redo = await store.promoteOnce(ns, other, { ...actor, stage: 'QUALIFIED', owner: 'retry', leaseMs: 60_000 });
		expect(redo.state).toBe('expired');
		expect(redo.opportunity.promotedAt).toBe((await store.getOpportunity(ns, other))!.promotedAt);
	});

	test('CRM push lease: acquired, leased to others, expired after its ttl, pushed once completed; release by its owner only', async () => {
		const id = await original();
		expect((await store.acquirePushLease(ns, id, 60_000, 'a')).state).toBe('acquired');
		expect((await store.acquirePushLease(ns, id, 60_000, 'a')).state).toBe('acquired');
		expect((await store.acquirePushLease(ns, id, 60_000, 'b')).state).toBe('leased');
		expect(await store.releasePushLease(ns, id, 'b')).toBe(false);
		expect(await store.releasePushLease(ns, id, 'a')).toBe(true);
		expect((await store.acquirePushLease(ns, id, 1, 'b')).state).toBe('acquired');
		await new Promise((r) => setTimeout(r, 10));
		expect((await store.acquirePushLease(ns, id, 60_000, 'c')).state).toBe('expired');
		const done = await store.completePush(ns, id, { system: 'leadsquared', leadId: 'P-7', opportunityId: 'O-7' }, { by: 'c', traceId: 't' });
		expect(done).toMatchObject({ changed: true, opportunity: { isPushed: true, crm: { pushState: 'pushed', system: 'leadsquared', leadId: 'P-7', opportunityId: 'O-7', pushedAt: expect.any(String) } } });
		expect((await store.completePush(ns, id, { system: 'leadsquared', leadId: 'P-8' }, { by: 'b', traceId: 't' })).changed).toBe(false);
		expect((await store.acquirePushLease(ns, id, 60_000, 'd')).state).toBe('pushed');
		expect((await store.getOpportunity(ns, id))!.crm).toMatchObject({ leadId: 'P-7' });
	});

	test('race: concurrent acquirePushLease from two connections — exactly one acquires', async () => {
		const second = await adapter.open();
		for (let round = 0; round < 20; round++) {
			const id = await original();
			const states = await Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? second : store).acquirePushLease(ns, id, 60_000, `owner-${i}`)));
			expect(states.filter((s) => s.state === 'acquired')).toHaveLength(1);
			expect(states.filter((s) => s.state === 'leased')).toHaveLength(9);
		}
		await second.close();
	});

	test('race: 1,000 leads sharing 100 phones from two connections at once give exactly 100 originals', async () => {
		const second = await adapter.open();
		const leads = Array.from({ length: 1000 }, (_, i) => ({ channel: 'WEBSITE' as const, phone: `+9198450${String(10000 + (i % 100)).slice(1)}0` }));
		const verdicts = await Promise.all(
			leads.map((lead, i) => (i % 2 ? second : store).checkAndRecord({ traceId: newTraceId(), namespace: ns, keys: dedupeKeysOf(lead, all), windowSeconds: 3600, lead })),
		);
		await second.close();
		const originals = verdicts.filter((v) => !v.duplicate);
		expect(originals).toHaveLength(100);
		expect(new Set(originals.map((v) => (v.duplicate ? '' : v.leadId))).size).toBe(100);
		expect(verdicts.filter((v) => v.duplicate)).toHaveLength(900);
	}, 60_000);
}

describe('LeadStore contract on Redis', () => contractSuite(redisAdapter));
(process.env.MONGODB_URI ? describe : describe.skip)(
	process.env.MONGODB_URI ? 'LeadStore contract on MongoDB' : `LeadStore contract on MongoDB — ${MONGO_SKIP_REASON}`,
	() => contractSuite(mongoAdapter),
);
