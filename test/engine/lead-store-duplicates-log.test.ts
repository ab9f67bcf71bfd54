import { fieldsToObject, MESSAGE_FIELD } from '../../nodes/shared/queue/streams';
import { RedisLeadStore } from '../../nodes/shared/store/redisStore';
import { newTraceId } from '../../nodes/shared/lead/trace';
import { checkInput as input } from '../support/leadStore';
import { deletePrefix, testRedis, uniquePrefix } from '../support/redis';

// The Redis lead store's `<namespace>:duplicates` audit log is written through the streams module:
// its entry shape (JSON in the `message` field) and a cap that refuses, never deletes.
const prefix = uniquePrefix('dup-log');
const redis = testRedis();
const store = new RedisLeadStore(redis);

afterAll(async () => {
	await deletePrefix(redis, prefix);
	redis.disconnect();
});

test('a duplicate is logged once, in the streams module entry shape; a redelivery adds nothing', async () => {
	const ns = `${prefix}shape`;
	const lead = { channel: 'WEBSITE' as const, phone: '+919812345678' };
	const first = await store.checkAndRecord(input(ns, lead));
	const dupTrace = newTraceId();
	const [dup] = await store.checkAndRecordMany([input(ns, lead, dupTrace)]);
	expect(dup).toMatchObject({ duplicate: true });
	await store.checkAndRecord(input(ns, lead, dupTrace));
	const entries = await redis.xrange(`${ns}:duplicates`, '-', '+');
	expect(entries).toHaveLength(1);
	const fields = fieldsToObject(entries[0][1]);
	expect(Object.keys(fields)).toEqual([MESSAGE_FIELD]);
	expect(JSON.parse(fields[MESSAGE_FIELD])).toEqual({
		traceId: dupTrace,
		duplicateOfTraceId: first.traceId,
		duplicateOfOpportunityId: `opp_${first.traceId}`,
		matchedOn: 'phone',
		at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
	});
});

test('at the cap (100,000 entries) the log refuses new lines and never deletes old ones; the verdict still stands', async () => {
	const ns = `${prefix}cap`;
	const stream = `${ns}:duplicates`;
	// Past the old `MAXLEN ~ 100000` by two macro nodes, so a trim would remove the oldest entries.
	const total = 100_300;
	for (let from = 0; from < total; from += 5_000) {
		const pipeline = redis.pipeline();
		for (let i = from; i < Math.min(total, from + 5_000); i++) pipeline.xadd(stream, '*', MESSAGE_FIELD, JSON.stringify({ n: i }));
		await pipeline.exec();
	}
	const oldest = (await redis.xrange(stream, '-', '+', 'COUNT', 1))[0][0];
	const lead = { channel: 'WEBSITE' as const, email: 'cap@example.com' };
	await store.checkAndRecord(input(ns, lead));
	const dup = await store.checkAndRecord(input(ns, lead));
	expect(dup).toMatchObject({ duplicate: true, matchedOn: 'email' });
	expect(await redis.xlen(stream)).toBe(total);
	expect((await redis.xrange(stream, '-', '+', 'COUNT', 1))[0][0]).toBe(oldest);
}, 60_000);
