import { RedisLeadStore } from '../../nodes/shared/store/redisStore';
import { checkInput as input } from '../support/leadStore';
import { deletePrefix, testRedis, uniquePrefix } from '../support/redis';

// The Redis store's own layout: documents the client builds as JSON must read back as the earlier
// script's cjson documents did, and keys an earlier version stored (cjson's key order, "\/" for a
// slash) must still be recognised, as another lead's and as this lead's own.
const prefix = uniquePrefix('store-layout');
const redis = testRedis();
const store = new RedisLeadStore(redis);

afterAll(async () => {
	await deletePrefix(redis, prefix);
	redis.disconnect();
});

test('an original stores its opportunity, profile, phone index, identity keys and verdict as JSON', async () => {
	const ns = `${prefix}docs`;
	const lead = { channel: 'WEBSITE' as const, phone: '+919812345678', email: 'a@b.co', name: 'Asha "A" Rao', destination: 'Goa/North' };
	const verdict = await store.checkAndRecord(input(ns, lead, 'tr/1'));
	expect(verdict).toEqual({ duplicate: false, traceId: 'tr/1', opportunityId: 'opp_tr/1', leadId: expect.stringMatching(/^lead_/), isNewProfile: true });
	if (verdict.duplicate) throw new Error('unreachable');
	expect(JSON.parse((await redis.get(`${ns}:opportunity:opp_tr/1`))!)).toEqual({
		opportunityId: 'opp_tr/1', traceId: 'tr/1', leadId: verdict.leadId, channel: 'WEBSITE', destination: 'Goa/North', stage: 'NEW',
		createdAt: expect.any(String), updatedAt: expect.any(String),
	});
	expect(await store.getProfile(ns, verdict.leadId)).toEqual({ leadId: verdict.leadId, phone: lead.phone, email: lead.email, name: lead.name, createdAt: expect.any(String), updatedAt: expect.any(String) });
	expect(await redis.get(`${ns}:profile:phone:${lead.phone}`)).toBe(verdict.leadId);
	expect(JSON.parse((await redis.get(`${ns}:key:email:a@b.co`))!)).toEqual({ traceId: 'tr/1', opportunityId: 'opp_tr/1' });
	expect(await redis.ttl(`${ns}:key:phone:${lead.phone}`)).toBeGreaterThan(3500);
	expect(await redis.ttl(`${ns}:verdict:tr/1`)).toBeGreaterThan(3600);
	// A second lead of the same person: same profile, not new; its verdict replays exactly.
	const second = input(ns, { channel: 'WHATSAPP', phone: lead.phone }, 'tr-2');
	second.keys = {};
	const again = await store.checkAndRecord(second);
	expect(again).toEqual({ duplicate: false, traceId: 'tr-2', opportunityId: 'opp_tr-2', leadId: verdict.leadId, isNewProfile: false });
	expect(await store.checkAndRecord(second)).toEqual(again);
});

test('identity keys written by the earlier script: another lead is a duplicate of it, the same lead is not', async () => {
	const ns = `${prefix}old`;
	const phone = '+919812345679';
	// cjson's order and escaping, as the earlier script stored them.
	await redis.set(`${ns}:key:phone:${phone}`, '{"opportunityId":"opp_old\\/1","traceId":"old\\/1"}', 'EX', 3600);
	const dup = await store.checkAndRecord(input(ns, { channel: 'WEBSITE', phone }));
	expect(dup).toMatchObject({ duplicate: true, duplicateOf: { traceId: 'old/1', opportunityId: 'opp_old/1' }, matchedOn: 'phone' });
	// The lead that holds the key, redelivered after its verdict expired: still an original.
	const own = await store.checkAndRecord(input(ns, { channel: 'WEBSITE', phone }, 'old/1'));
	expect(own).toMatchObject({ duplicate: false, traceId: 'old/1', opportunityId: 'opp_old/1' });
});

test('a duplicate on the second or third kind names that kind', async () => {
	const ns = `${prefix}kinds`;
	await store.checkAndRecord(input(ns, { channel: 'WEBSITE', name: 'Ravi', destination: 'Kerala' }));
	await store.checkAndRecord(input(ns, { channel: 'WEBSITE', email: 'x@y.in' }));
	expect(await store.checkAndRecord(input(ns, { channel: 'WEBSITE', phone: '+919800000001', email: 'x@y.in' }))).toMatchObject({ duplicate: true, matchedOn: 'email' });
	expect(await store.checkAndRecord(input(ns, { channel: 'WEBSITE', phone: '+919800000002', email: 'z@y.in', name: 'ravi ', destination: 'kerala' }))).toMatchObject({ duplicate: true, matchedOn: 'nameDestination' });
});

test('one batch across namespaces and windows: each lead recorded in its own, replies in input order', async () => {
	const [a, b] = [`${prefix}nsA`, `${prefix}nsB`];
	const phone = '+919811111111';
	const long = { ...input(a, { channel: 'WEBSITE', phone }), windowSeconds: 7200 };
	// The longer window's lead comes before a-2 with the same phone: it is the original.
	const verdicts = await store.checkAndRecordMany([
		input(a, { channel: 'WEBSITE', phone: '+919822222222' }, 'a-1'),
		long,
		input(b, { channel: 'WEBSITE', phone }, 'b-1'),
		input(a, { channel: 'WEBSITE', phone }, 'a-2'),
	]);
	expect(verdicts.map((v) => [v.traceId, v.duplicate])).toEqual([['a-1', false], [long.traceId, false], ['b-1', false], ['a-2', true]]);
	expect(await redis.ttl(`${a}:key:phone:${phone}`)).toBeGreaterThan(7000);
	expect(await redis.ttl(`${a}:verdict:a-2`)).toBeLessThan(3600 + 86_401);
	expect(JSON.parse((await redis.get(`${b}:key:phone:${phone}`))!)).toEqual({ traceId: 'b-1', opportunityId: 'opp_b-1' });
});
