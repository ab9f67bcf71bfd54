import { renewOwned } from '../../nodes/shared/queue/streamGroup';
import { deletePrefix, testRedis, uniquePrefix } from '../support/redis';

// The heartbeat renews every in-flight entry (parallel × batch of them). One script over thousands
// of ids holds Redis for tens of ms, stalling every other client (intake's XADD, other consumers):
// the renewal runs in bounded script runs, and still reports exactly the ids no longer ours.
const prefix = uniquePrefix('renewal');
const redis = testRedis();

afterAll(async () => {
	await deletePrefix(redis, prefix);
	redis.disconnect();
});

const evalRuns = async () => {
	const stats = await redis.info('commandstats');
	const calls = (name: string) => Number(stats.match(new RegExp(`cmdstat_${name}:calls=(\\d+)`))?.[1] ?? 0);
	return calls('eval') + calls('evalsha');
};

test('2,500 in-flight ids: renewed in several script runs; the claimed and the acknowledged come back as lost', async () => {
	const stream = `${prefix}q`;
	await redis.xgroup('CREATE', stream, 'g', '$', 'MKSTREAM');
	const pipeline = redis.pipeline();
	for (let i = 0; i < 2500; i++) pipeline.xadd(stream, '*', 'message', String(i));
	await pipeline.exec();
	const read = (await redis.xreadgroup('GROUP', 'g', 'me', 'COUNT', 2500, 'STREAMS', stream, '>')) as Array<[string, Array<[string, string[]]>]>;
	const ids = read[0][1].map(([id]) => id);
	await redis.call('XCLAIM', stream, 'g', 'other', 0, ids[10], ids[1700], 'JUSTID');
	await redis.xack(stream, 'g', ids[2400]);
	await new Promise((resolve) => setTimeout(resolve, 500));

	const before = await evalRuns();
	const lost = await renewOwned(redis, { stream, group: 'g', consumer: 'me' }, ids);
	const runs = (await evalRuns()) - before;

	expect(lost.sort()).toEqual([ids[10], ids[1700], ids[2400]].sort());
	expect(runs).toBeGreaterThanOrEqual(5);
	// Renewed: idle time reset for ours, untouched for the other consumer's.
	const pending = (await redis.call('XPENDING', stream, 'g', 'IDLE', 400, '-', '+', 3000)) as Array<[string, string]>;
	expect(pending.map(([id, owner]) => `${id} ${owner}`).sort()).toEqual([`${ids[10]} other`, `${ids[1700]} other`].sort());
});
