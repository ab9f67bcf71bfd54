import type Redis from 'ioredis';

import { addDays, COUNTER_NAMES, dayKey, isDate, parseField, type CounterName } from './counters';

/** Counters whose labels break the total down (stage: `FROM→TO`). */
export type Breakdown = Partial<Record<CounterName, Record<string, number>>>;

export interface DayMetrics {
	date: string;
	totals: Record<CounterName, number>;
	breakdown: Breakdown;
}

export interface LeadRates {
	/** duplicate / (new + duplicate): share of checked leads that were duplicates. */
	duplicateRate: number | null;
	/** routed{process} / routed: share of routed leads per process. */
	processDistribution: Record<string, number>;
	/** qualified / routed. */
	qualificationRate: number | null;
	/** crm{synced} / new: share of new leads that reached the CRM. */
	crmConversion: number | null;
	/** crm{synced} / (synced + failed). */
	crmSuccessRate: number | null;
	/** whatsapp{delivered} / whatsapp{sent}. */
	whatsappDeliveryRate: number | null;
	/** whatsapp{sent} / (sent + failed). */
	whatsappSuccessRate: number | null;
	/** webhook{delivered} / (delivered + failed). */
	webhookSuccessRate: number | null;
	/** retries / received. */
	retryRate: number | null;
}

export interface LeadMetrics {
	namespace: string;
	/** The zone whose calendar days the range is in. */
	timeZone: string;
	from: string;
	to: string;
	totals: Record<CounterName, number>;
	breakdown: Breakdown;
	rates: LeadRates;
	/** One entry per day of the range, oldest first (days without counts are zeros): the chart series. */
	days: DayMetrics[];
}

export const MAX_RANGE_DAYS = 400;

const zeros = (): Record<CounterName, number> =>
	Object.fromEntries(COUNTER_NAMES.map((c) => [c, 0])) as Record<CounterName, number>;

function add(breakdown: Breakdown, counter: CounterName, label: string, n: number): void {
	const byLabel = (breakdown[counter] ??= {});
	byLabel[label] = (byLabel[label] ?? 0) + n;
}

function ratio(part: number, whole: number): number | null {
	return whole > 0 ? Math.round((part / whole) * 10_000) / 10_000 : null;
}

export function ratesOf(totals: Record<CounterName, number>, breakdown: Breakdown): LeadRates {
	const crm = breakdown.crm ?? {};
	const wa = breakdown.whatsapp ?? {};
	const webhook = breakdown.webhook ?? {};
	const n = (v: number | undefined) => v ?? 0;
	return {
		duplicateRate: ratio(totals.duplicate, totals.new + totals.duplicate),
		processDistribution: Object.fromEntries(
			Object.entries(breakdown.routed ?? {}).map(([process, count]) => [process, ratio(count, totals.routed) ?? 0]),
		),
		qualificationRate: ratio(totals.qualified, totals.routed),
		crmConversion: ratio(n(crm.synced), totals.new),
		crmSuccessRate: ratio(n(crm.synced), n(crm.synced) + n(crm.failed)),
		whatsappDeliveryRate: ratio(n(wa.delivered), n(wa.sent)),
		whatsappSuccessRate: ratio(n(wa.sent), n(wa.sent) + n(wa.failed)),
		webhookSuccessRate: ratio(n(webhook.delivered), n(webhook.delivered) + n(webhook.failed)),
		retryRate: ratio(totals.retries, totals.received),
	};
}

/** Reads the day hashes of [from, to] (inclusive, YYYY-MM-DD in timeZone's calendar) in one round trip. */
export async function readLeadMetrics(
	redis: Redis,
	o: { namespace: string; from: string; to: string; timeZone?: string },
): Promise<LeadMetrics> {
	const zone = !o.timeZone || o.timeZone === 'Etc/UTC' ? 'UTC' : o.timeZone;
	if (!isDate(o.from)) throw new RangeError(`"from" must be a date like 2025-03-01, got "${o.from}"`);
	if (!isDate(o.to)) throw new RangeError(`"to" must be a date like 2025-03-01, got "${o.to}"`);
	if (o.from > o.to) throw new RangeError(`"from" (${o.from}) is after "to" (${o.to})`);
	const dates: string[] = [];
	for (let d = o.from; d <= o.to; d = addDays(d, 1)) {
		dates.push(d);
		if (dates.length > MAX_RANGE_DAYS) throw new RangeError(`the range is longer than ${MAX_RANGE_DAYS} days`);
	}
	const pipeline = redis.pipeline();
	for (const date of dates) pipeline.hgetall(dayKey(o.namespace, zone, date));
	const replies = (await pipeline.exec()) ?? [];
	const totals = zeros();
	const breakdown: Breakdown = {};
	const days = dates.map((date, i) => {
		const [error, hash] = replies[i] ?? [];
		if (error) throw error;
		const day: DayMetrics = { date, totals: zeros(), breakdown: {} };
		for (const [field, raw] of Object.entries((hash ?? {}) as Record<string, string>)) {
			const parsed = parseField(field);
			const count = Number(raw);
			if (!parsed || !Number.isFinite(count)) continue;
			const label = parsed.labels.join('→');
			day.totals[parsed.counter] += count;
			totals[parsed.counter] += count;
			if (label) {
				add(day.breakdown, parsed.counter, label, count);
				add(breakdown, parsed.counter, label, count);
			}
		}
		return day;
	});
	return { namespace: o.namespace, timeZone: zone, from: o.from, to: o.to, totals, breakdown, rates: ratesOf(totals, breakdown), days };
}
