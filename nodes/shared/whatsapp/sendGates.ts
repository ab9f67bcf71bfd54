import { isoTime } from './messageLog';
import { checkHours, type OutreachCounters, type OutreachRules, type Priority } from './outreachRules';
import type { SendBase, SendResult } from './sendTypes';

/** The business rules a send passes before it goes out: opening hours, daily cap, hourly rate. */

/** A Deferred answer: the item goes back to be sent at `sendAfter` (one of the fields). */
export const deferredAnswer = (base: SendBase, fields: Record<string, unknown>): SendResult => ({ output: 'deferred', whatsApp: { ...base, outcome: 'deferred', ...fields } });

/** The answer when the rules' hours are closed now (deferred or refused), else undefined. */
export function closedHours(base: SendBase, nowMs: number, rules: OutreachRules | undefined, priority: Priority): SendResult | undefined {
	if (!rules) return undefined;
	const hours = checkHours(nowMs, rules, priority);
	if (hours.open) return undefined;
	const why = hours.holiday ? 'a holiday' : 'outside business hours';
	if (hours.nextOpening === undefined) {
		return { output: 'notSent', whatsApp: { ...base, outcome: 'notSent', reason: `${why} and no opening in the next year`, fix: 'Check Opening Hours and Holidays in the business rules' } };
	}
	if (rules.outsideHours === 'reject') {
		return { output: 'notSent', whatsApp: { ...base, outcome: 'notSent', reason: `${why} (the rules reject sends outside hours)`, nextOpening: isoTime(hours.nextOpening) } };
	}
	return deferredAnswer(base, { reason: why, sendAfter: isoTime(hours.nextOpening) });
}

export type Quota = { taken: true; warning?: string } | { taken: false; answer: SendResult };

/**
 * Takes one message from the daily cap and the hourly rate. A refusal gives back what was taken
 * (the daily count when the rate refuses) and answers Deferred until the counter has room.
 */
export async function takeQuota(counters: OutreachCounters, base: SendBase, nowMs: number, rules: OutreachRules | undefined, priority: Priority): Promise<Quota> {
	if (!rules) return { taken: true };
	const daily = await counters.takeDaily(nowMs, rules, priority);
	if (!daily.allowed) return { taken: false, answer: deferredAnswer(base, { reason: daily.reason, sendAfter: isoTime(daily.retryAt), dailyCount: daily.count }) };
	const rate = await counters.takeRate(nowMs, rules, priority);
	if (!rate.allowed) {
		await counters.releaseDaily(nowMs, rules);
		return { taken: false, answer: deferredAnswer(base, { reason: rate.reason, sendAfter: isoTime(rate.retryAt) }) };
	}
	return { taken: true, warning: daily.warning };
}

/** Gives back the daily count a taken quota holds (a send that sent nothing). */
export async function giveBackDaily(counters: OutreachCounters, nowMs: number, rules: OutreachRules | undefined): Promise<void> {
	if (rules) await counters.releaseDaily(nowMs, rules);
}
