import { createHash } from 'node:crypto';

import type Redis from 'ioredis';

import { COUNTER, COUNTER_NAMES, dayKey, seenKey, type DecisionEvent } from '../../nodes/shared/metrics/counters';
import { isPaused, pauseKey, pauseStates, setPaused } from '../../nodes/shared/queue/pause';
import { recordDecisions } from '../../nodes/shared/metrics/recorder';
import { connectRedis, closeRedis } from '../../nodes/shared/queue';
import { deletePrefix, redisCredential, testRedis, uniquePrefix } from '../support/redis';

const prefix = uniquePrefix('metrics-recorder');
let redis: Redis;

beforeAll(() => {
	redis = testRedis();
});
afterAll(async () => {
	await deletePrefix(redis, prefix);
	redis.disconnect();
});

// 2025-03-01 20:30 UTC is already 2025-03-02 in Kolkata (UTC+5:30): the two day hashes differ.
const now = new Date('2025-03-01T20:30:00Z');

/** One event of every counter, with its labels. */
const everyCounter: DecisionEvent[] = [
	{ traceId: 't1', counter: COUNTER.received, labels: { channel: 'WEBSITE' } },
	{ traceId: 't2', counter: COUNTER.rejected, labels: { reason: 'invalid phone' } },
	{ traceId: 't1', counter: COUNTER.duplicate, labels: { matchedOn: 'phone' } },
	{ traceId: 't3', counter: COUNTER.new },
	{ traceId: 't3', counter: COUNTER.routed, labels: { process: 'PSV' } },
	{ traceId: 't3', counter: COUNTER.stage, labels: { from: 'FRESH_LEAD', to: 'IN_PROGRESS' } },
	{ traceId: 't3', counter: COUNTER.qualified, labels: { process: 'PSV' } },
	{ traceId: 't3', counter: COUNTER.crm, labels: { outcome: 'synced' } },
	{ traceId: 't3', counter: COUNTER.whatsapp, labels: { outcome: 'delivered' } },
	{ traceId: 't3', counter: COUNTER.webhook, labels: { outcome: 'failed' } },
	{ traceId: '1700000000000-0:2', counter: COUNTER.retries },
	{ traceId: 't4', counter: COUNTER.deadLettered, labels: { stream: 'filterQueue' } },
];

describe('recordDecisions', () => {
	test('every counter lands in the UTC-day hash and the time-zone-day hash, in one script call', async () => {
		const namespace = `${prefix}every`;
		expect(new Set(everyCounter.map((e) => e.counter))).toEqual(new Set(COUNTER_NAMES));
		const result = await recordDecisions(redis, { namespace, timeZone: 'Asia/Kolkata', now }, everyCounter);
		expect(result).toEqual({ ok: true, counted: 12, alreadyCounted: 0, invalid: [] });
		const expected = {
			'received|WEBSITE': '1',
			'rejected|invalid%20phone': '1',
			'duplicate|phone': '1',
			new: '1',
			'routed|PSV': '1',
			'stage|FRESH_LEAD|IN_PROGRESS': '1',
			'qualified|PSV': '1',
			'crm|synced': '1',
			'whatsapp|delivered': '1',
			'webhook|failed': '1',
			retries: '1',
			'deadLettered|filterQueue': '1',
		};
		expect(await redis.hgetall(dayKey(namespace, 'UTC', '2025-03-01'))).toEqual(expected);
		expect(await redis.hgetall(dayKey(namespace, 'Asia/Kolkata', '2025-03-02'))).toEqual(expected);
		const ttl = await redis.ttl(dayKey(namespace, 'UTC', '2025-03-01'));
		expect(ttl).toBeGreaterThan(90 * 86_400);
		expect(ttl).toBeLessThanOrEqual(91 * 86_400);
	});

	test('a redelivered batch is not counted twice, even on the next day, and a repeat inside one batch counts once', async () => {
		const namespace = `${prefix}redelivery`;
		const batch: DecisionEvent[] = [
			{ traceId: 'a', counter: 'received', labels: { channel: 'WHATSAPP' } },
			{ traceId: 'b', counter: 'received', labels: { channel: 'WHATSAPP' } },
			{ traceId: 'b', counter: 'received', labels: { channel: 'WHATSAPP' } },
			{ traceId: 'a', counter: 'new' },
		];
		expect(await recordDecisions(redis, { namespace, now }, batch)).toMatchObject({ ok: true, counted: 3, alreadyCounted: 1 });
		expect(await recordDecisions(redis, { namespace, now }, batch)).toMatchObject({ ok: true, counted: 0, alreadyCounted: 4 });
		const nextDay = new Date('2025-03-02T09:00:00Z');
		expect(await recordDecisions(redis, { namespace, now: nextDay }, batch)).toMatchObject({ counted: 0, alreadyCounted: 4 });
		// A different label of the same trace is a different decision (stage moves, WhatsApp statuses).
		expect(await recordDecisions(redis, { namespace, now }, [{ traceId: 'a', counter: 'received', labels: { channel: 'WEBSITE' } }])).toMatchObject({ counted: 1 });
		expect(await redis.hgetall(dayKey(namespace, 'UTC', '2025-03-01'))).toEqual({ 'received|WHATSAPP': '2', 'received|WEBSITE': '1', new: '1' });
		expect(await redis.exists(dayKey(namespace, 'UTC', '2025-03-02'))).toBe(0);
		// Past the dedupe window the marker is gone from the lookback: counted as a new decision.
		const later = new Date('2025-03-09T09:00:00Z');
		expect(await recordDecisions(redis, { namespace, now: later, dedupeDays: 7 }, [batch[3]])).toMatchObject({ counted: 1 });
		expect(await redis.ttl(seenKey(namespace, '2025-03-01'))).toBeLessThanOrEqual(8 * 86_400);
	});

	test('a batch larger than one read chunk: marks of earlier days, of today and repeats inside the batch each count once', async () => {
		const namespace = `${prefix}large`;
		const yesterday = new Date('2025-02-28T12:00:00Z');
		// 300 decisions counted yesterday, 200 earlier today; then 1,800 events arrive in one batch:
		// those 500 again, 1,000 new ones, and 300 repeats of new ones inside the batch.
		const event = (i: number): DecisionEvent => ({ traceId: `lead-${i}`, counter: 'received', labels: { channel: i % 2 ? 'WEBSITE' : 'WHATSAPP' } });
		expect(await recordDecisions(redis, { namespace, now: yesterday }, Array.from({ length: 300 }, (_, i) => event(i)))).toMatchObject({ ok: true, counted: 300 });
		expect(await recordDecisions(redis, { namespace, now }, Array.from({ length: 200 }, (_, i) => event(300 + i)))).toMatchObject({ ok: true, counted: 200 });
		const batch = [...Array.from({ length: 1_500 }, (_, i) => event(i)), ...Array.from({ length: 300 }, (_, i) => event(500 + i * 3))];
		expect(await recordDecisions(redis, { namespace, now }, batch)).toMatchObject({ ok: true, counted: 1_000, alreadyCounted: 800 });
		expect(await redis.hgetall(dayKey(namespace, 'UTC', '2025-03-01'))).toEqual({ 'received|WEBSITE': '600', 'received|WHATSAPP': '600' });
		expect(await redis.hlen(seenKey(namespace, '2025-03-01'))).toBe(1_200);
		expect(await recordDecisions(redis, { namespace, now }, batch)).toMatchObject({ ok: true, counted: 0, alreadyCounted: 1_800 });
	});

	test('the seen mark of an event is the first 20 hex of sha1(traceId + newline + field): marks stored by earlier versions stay valid', async () => {
		const namespace = `${prefix}mark`;
		await recordDecisions(redis, { namespace, now }, [{ traceId: 'pinned', counter: 'routed', labels: { process: 'PSV' } }]);
		const mark = createHash('sha1').update('pinned\nrouted|PSV').digest('hex').slice(0, 20);
		expect(await redis.hkeys(seenKey(namespace, '2025-03-01'))).toEqual([mark]);
	});

	test('events that do not fit their counter are skipped and reported, the rest counted', async () => {
		const namespace = `${prefix}invalid`;
		const result = await recordDecisions(redis, { namespace, now }, [
			{ traceId: 'x', counter: 'recieved', labels: { channel: 'WEBSITE' } },
			{ traceId: 'x', counter: 'received' },
			{ traceId: '', counter: 'new' },
			{ traceId: 'x', counter: 'crm', labels: { outcome: 'maybe' } },
			{ traceId: 'x', counter: 'received', labels: { channel: 'a|b' } },
		]);
		expect(result.ok).toBe(true);
		expect(result.counted).toBe(1);
		expect(result.invalid.map((i) => i.index)).toEqual([0, 1, 2, 3]);
		expect(result.invalid[0].reason).toMatch(/unknown counter "recieved"/);
		expect(result.invalid[1].reason).toMatch(/needs label "channel"/);
		expect(result.invalid[3].reason).toMatch(/synced, skipped, failed/);
		expect(await redis.hgetall(dayKey(namespace, 'UTC', '2025-03-01'))).toEqual({ 'received|a%7Cb': '1' });
	});

	test('a key of the wrong type fails the write without throwing and marks nothing as seen', async () => {
		const namespace = `${prefix}wrongtype`;
		await redis.set(dayKey(namespace, 'UTC', '2025-03-01'), 'not a hash');
		const event: DecisionEvent = { traceId: 'w', counter: 'new' };
		const failed = await recordDecisions(redis, { namespace, now }, [event]);
		expect(failed).toMatchObject({ ok: false, counted: 0, error: expect.stringMatching(/WRONGTYPE/) });
		expect(await redis.exists(seenKey(namespace, '2025-03-01'))).toBe(0);
		await redis.del(dayKey(namespace, 'UTC', '2025-03-01'));
		expect(await recordDecisions(redis, { namespace, now }, [event])).toMatchObject({ ok: true, counted: 1 });
	});

	test('a closed connection fails the write without throwing', async () => {
		const client = await connectRedis(redisCredential());
		await closeRedis(client);
		const result = await recordDecisions(client, { namespace: `${prefix}closed`, now }, [{ traceId: 'c', counter: 'new' }]);
		expect(result).toMatchObject({ ok: false, error: expect.any(String) });
	});

	test('an unknown time zone still counts by UTC day and says so', async () => {
		const namespace = `${prefix}zone`;
		const result = await recordDecisions(redis, { namespace, timeZone: 'Mars/Olympus', now }, [{ traceId: 'z', counter: 'new' }]);
		expect(result).toMatchObject({ ok: true, counted: 1, warning: expect.stringMatching(/Mars\/Olympus/) });
		expect(await redis.hget(dayKey(namespace, 'UTC', '2025-03-01'), 'new')).toBe('1');
	});
});

describe('pause flag', () => {
	test('set, read and cleared; several read in one call', async () => {
		const stream = `${prefix}pause:queue`;
		expect(await isPaused(redis, stream, 'g')).toBe(false);
		const at = new Date('2025-03-01T10:00:00Z');
		expect(await setPaused(redis, stream, 'g', true, 'ops@example.com', at)).toEqual({ stream, group: 'g', paused: true, by: 'ops@example.com', at: at.toISOString() });
		expect(await redis.ttl(pauseKey(stream, 'g'))).toBe(-1);
		expect(await isPaused(redis, stream, 'g')).toBe(true);
		expect(await isPaused(redis, stream, 'other')).toBe(false);
		await redis.set(pauseKey(stream, 'manual'), '1');
		expect(await pauseStates(redis, [{ stream, group: 'g' }, { stream, group: 'manual' }, { stream, group: 'other' }])).toEqual([
			{ stream, group: 'g', paused: true, by: 'ops@example.com', at: at.toISOString() },
			{ stream, group: 'manual', paused: true },
			{ stream, group: 'other', paused: false },
		]);
		expect(await setPaused(redis, stream, 'g', false, 'ops@example.com')).toEqual({ stream, group: 'g', paused: false });
		expect(await isPaused(redis, stream, 'g')).toBe(false);
	});
});
