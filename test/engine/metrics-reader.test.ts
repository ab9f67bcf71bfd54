import type Redis from 'ioredis';

import type { DecisionEvent } from '../../nodes/shared/metrics/counters';
import { readLeadMetrics } from '../../nodes/shared/metrics/reader';
import { recordDecisions } from '../../nodes/shared/metrics/recorder';
import { deletePrefix, testRedis, uniquePrefix } from '../support/redis';

const prefix = uniquePrefix('metrics-reader');
let redis: Redis;

beforeAll(() => {
	redis = testRedis();
});
afterAll(async () => {
	await deletePrefix(redis, prefix);
	redis.disconnect();
});

function times(n: number, make: (i: number) => DecisionEvent): DecisionEvent[] {
	return Array.from({ length: n }, (_, i) => make(i));
}

describe('readLeadMetrics', () => {
	test('totals, breakdowns, rates and a zero-filled per-day series over a range', async () => {
		const namespace = `${prefix}leads`;
		const day1 = new Date('2025-03-01T12:00:00Z');
		const day3 = new Date('2025-03-03T12:00:00Z');
		await recordDecisions(redis, { namespace, now: day1 }, [
			...times(6, (i) => ({ traceId: `a${i}`, counter: 'received', labels: { channel: i < 4 ? 'WEBSITE' : 'WHATSAPP' } })),
			...times(2, (i) => ({ traceId: `a${i}`, counter: 'duplicate', labels: { matchedOn: 'phone' } })),
			...times(4, (i) => ({ traceId: `a${i + 2}`, counter: 'new' })),
			...times(3, (i) => ({ traceId: `a${i + 2}`, counter: 'routed', labels: { process: 'PSV' } })),
			{ traceId: 'a5', counter: 'routed', labels: { process: 'NO_FILTER' } },
			{ traceId: 'a2', counter: 'stage', labels: { from: 'FRESH_LEAD', to: 'IN_PROGRESS' } },
			{ traceId: 'a2', counter: 'qualified', labels: { process: 'PSV' } },
			{ traceId: 'a5', counter: 'qualified', labels: { process: 'NO_FILTER' } },
			{ traceId: 'a2', counter: 'crm', labels: { outcome: 'synced' } },
			{ traceId: 'a5', counter: 'crm', labels: { outcome: 'failed' } },
			...times(4, (i) => ({ traceId: `a${i + 2}`, counter: 'whatsapp', labels: { outcome: i < 3 ? 'sent' : 'failed' } })),
			...times(2, (i) => ({ traceId: `a${i + 2}`, counter: 'whatsapp', labels: { outcome: 'delivered' } })),
			{ traceId: 'a2', counter: 'webhook', labels: { outcome: 'delivered' } },
			{ traceId: 'm1:2', counter: 'retries' },
			{ traceId: 'a9', counter: 'deadLettered', labels: { stream: 'filterQueue' } },
		]);
		await recordDecisions(redis, { namespace, now: day3 }, [
			{ traceId: 'b1', counter: 'received', labels: { channel: 'INSTAGRAM' } },
			{ traceId: 'b1', counter: 'new' },
			{ traceId: 'b1', counter: 'crm', labels: { outcome: 'synced' } },
			{ traceId: 'm2:2', counter: 'retries' },
		]);
		// Outside the range: must not be read.
		await recordDecisions(redis, { namespace, now: new Date('2025-03-05T12:00:00Z') }, [{ traceId: 'c1', counter: 'new' }]);

		const m = await readLeadMetrics(redis, { namespace, from: '2025-03-01', to: '2025-03-04' });
		expect(m.totals).toEqual({
			received: 7, rejected: 0, duplicate: 2, new: 5, routed: 4, stage: 1, qualified: 2,
			crm: 3, whatsapp: 6, webhook: 1, retries: 2, deadLettered: 1,
		});
		expect(m.breakdown).toEqual({
			received: { WEBSITE: 4, WHATSAPP: 2, INSTAGRAM: 1 },
			duplicate: { phone: 2 },
			routed: { PSV: 3, NO_FILTER: 1 },
			stage: { 'FRESH_LEAD→IN_PROGRESS': 1 },
			qualified: { PSV: 1, NO_FILTER: 1 },
			crm: { synced: 2, failed: 1 },
			whatsapp: { sent: 3, failed: 1, delivered: 2 },
			webhook: { delivered: 1 },
			deadLettered: { filterQueue: 1 },
		});
		expect(m.rates).toEqual({
			duplicateRate: 0.2857, // 2 / (5 + 2)
			processDistribution: { PSV: 0.75, NO_FILTER: 0.25 },
			qualificationRate: 0.5, // 2 / 4
			crmConversion: 0.4, // 2 / 5
			crmSuccessRate: 0.6667, // 2 / 3
			whatsappDeliveryRate: 0.6667, // 2 / 3
			whatsappSuccessRate: 0.75, // 3 / 4
			webhookSuccessRate: 1,
			retryRate: 0.2857, // 2 / 7
		});
		expect(m.days.map((d) => [d.date, d.totals.received, d.totals.new])).toEqual([
			['2025-03-01', 6, 4],
			['2025-03-02', 0, 0],
			['2025-03-03', 1, 1],
			['2025-03-04', 0, 0],
		]);
		expect(m.days[2].breakdown).toEqual({ received: { INSTAGRAM: 1 }, crm: { synced: 1 } });
	});

	test('rates with nothing to divide by are null, and the time zone picks its own day hashes', async () => {
		const namespace = `${prefix}zone`;
		// 20:30 UTC on the 1st is the 2nd in Kolkata.
		await recordDecisions(redis, { namespace, timeZone: 'Asia/Kolkata', now: new Date('2025-03-01T20:30:00Z') }, [{ traceId: 'z', counter: 'new' }]);
		const utc = await readLeadMetrics(redis, { namespace, from: '2025-03-01', to: '2025-03-02' });
		const kolkata = await readLeadMetrics(redis, { namespace, from: '2025-03-01', to: '2025-03-02', timeZone: 'Asia/Kolkata' });
		expect(utc.days.map((d) => d.totals.new)).toEqual([1, 0]);
		expect(kolkata.days.map((d) => d.totals.new)).toEqual([0, 1]);
		expect(kolkata.rates).toMatchObject({ duplicateRate: 0, qualificationRate: null, crmConversion: 0, retryRate: null, processDistribution: {} });
	});

	test('a bad range is a clear error', async () => {
		await expect(readLeadMetrics(redis, { namespace: prefix, from: '2025-02-30', to: '2025-03-01' })).rejects.toThrow(/"from" must be a date/);
		await expect(readLeadMetrics(redis, { namespace: prefix, from: '2025-03-02', to: '2025-03-01' })).rejects.toThrow(/after/);
		await expect(readLeadMetrics(redis, { namespace: prefix, from: '2020-01-01', to: '2025-03-01' })).rejects.toThrow(/longer than 400 days/);
	});
});
