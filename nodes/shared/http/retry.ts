/**
 * What to do after one HTTP attempt, the wait before the next one, and a retry loop that never
 * touches the wall clock directly (tests inject a clock).
 */

/** success = 2xx; retryable = worth another attempt; gone = 410, stop for good; permanent = other failures. */
export type Verdict = 'success' | 'retryable' | 'gone' | 'permanent';

/**
 * 2xx → success. 408, 429, 5xx → retryable (the server may recover). 410 → gone (the receiver
 * says the endpoint was removed). 3xx → permanent: redirects are never followed, since a
 * redirect could point a signed request anywhere. Other 4xx → permanent (the request is wrong).
 */
export function classifyStatus(status: number): Verdict {
	if (status >= 200 && status < 300) return 'success';
	if (status === 408 || status === 429 || status >= 500) return 'retryable';
	if (status === 410) return 'gone';
	return 'permanent';
}

export const DEFAULT_RETRY_AFTER_CAP_MS = 60 * 60 * 1000;

/**
 * Retry-After as milliseconds from `now`: delta-seconds ("120") or an HTTP-date
 * ("Wed, 21 Oct 2015 07:28:00 GMT"). A date in the past gives 0; unparsable gives undefined;
 * anything longer than `capMs` is cut to `capMs` so one header cannot park a delivery for days.
 */
export function parseRetryAfter(
	value: string | string[] | undefined,
	now: number,
	capMs: number = DEFAULT_RETRY_AFTER_CAP_MS,
): number | undefined {
	const raw = (Array.isArray(value) ? value[0] : value)?.trim();
	if (!raw) return undefined;
	let ms: number;
	if (/^\d+$/.test(raw)) {
		ms = Number(raw) * 1000;
	} else {
		const at = Date.parse(raw);
		if (Number.isNaN(at) || !/[a-z]/i.test(raw)) return undefined;
		ms = Math.max(0, at - now);
	}
	return Math.min(ms, capMs);
}

export type BackoffSchedule =
	| {
			kind: 'exponential';
			/** Wait before the 2nd attempt; doubles (× factor) for each one after. */
			baseMs: number;
			factor?: number;
			/** Cap on one wait. */
			maxMs?: number;
			/** Spread each wait by ±jitter (0.2 = ±20 %) so many failing items do not retry in lockstep. */
			jitter?: number;
	  }
	| {
			kind: 'list';
			/** Wait before attempt 2, 3, …; the last value repeats when attempts outnumber it. */
			delaysMs: number[];
	  };

export const DEFAULT_SCHEDULE: BackoffSchedule = { kind: 'exponential', baseMs: 1000, factor: 2, jitter: 0.2 };

/** Wait before attempt number `nextAttempt` (2 = the first retry). `random` returns [0, 1). */
export function backoffDelay(
	schedule: BackoffSchedule,
	nextAttempt: number,
	random: () => number = Math.random,
): number {
	const retryIndex = Math.max(0, nextAttempt - 2);
	if (schedule.kind === 'list') {
		const { delaysMs } = schedule;
		if (delaysMs.length === 0) return 0;
		return Math.max(0, delaysMs[Math.min(retryIndex, delaysMs.length - 1)]);
	}
	const nominal = Math.min(
		schedule.baseMs * Math.pow(schedule.factor ?? 2, retryIndex),
		schedule.maxMs ?? Number.POSITIVE_INFINITY,
	);
	const jitter = Math.min(Math.max(schedule.jitter ?? 0, 0), 1);
	return Math.max(0, Math.round(nominal * (1 + jitter * (2 * random() - 1))));
}

/** Time source for retry loops; tests pass a fake one so nothing really sleeps. */
export interface Clock {
	now(): number;
	sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
	now: () => Date.now(),
	sleep: async (ms) => await new Promise((resolve) => setTimeout(resolve, ms)),
};

/** What one attempt produced, as the retry loop needs it. */
export interface AttemptResult {
	verdict: Verdict;
	/** Server-requested wait (Retry-After), already parsed and capped. */
	retryAfterMs?: number;
}

export interface RetryOptions {
	/** Total attempts including the first (≥ 1). */
	attempts: number;
	schedule: BackoffSchedule;
	/**
	 * A wait longer than this is not slept inside the execution: the loop stops with
	 * `deferred` and `nextAttemptAt`, so the caller can hand the work to a delay queue.
	 * Undefined = always wait in place.
	 */
	maxInlineWaitMs?: number;
	clock?: Clock;
	random?: () => number;
}

export type RetryOutcome<T> =
	| { status: 'success' | 'gone' | 'permanent' | 'exhausted'; attempts: T[] }
	| { status: 'deferred'; attempts: T[]; nextAttemptAt: number; nextAttempt: number };

/**
 * Runs `attempt(n)` (n from `firstAttempt`) until it succeeds, fails for good, or attempts run
 * out. Between attempts waits max(schedule, Retry-After). Every attempt's record is returned.
 */
export async function withRetries<T extends AttemptResult>(
	attempt: (attemptNumber: number) => Promise<T>,
	options: RetryOptions & { firstAttempt?: number },
): Promise<RetryOutcome<T>> {
	const clock = options.clock ?? systemClock;
	const attempts: T[] = [];
	const total = Math.max(1, Math.floor(options.attempts));
	for (let n = options.firstAttempt ?? 1; ; n++) {
		const result = await attempt(n);
		attempts.push(result);
		if (result.verdict !== 'retryable') {
			return { status: result.verdict === 'success' ? 'success' : result.verdict, attempts };
		}
		if (n >= total) return { status: 'exhausted', attempts };
		const wait = Math.max(backoffDelay(options.schedule, n + 1, options.random), result.retryAfterMs ?? 0);
		if (options.maxInlineWaitMs !== undefined && wait > options.maxInlineWaitMs) {
			return { status: 'deferred', attempts, nextAttemptAt: clock.now() + wait, nextAttempt: n + 1 };
		}
		await clock.sleep(wait);
	}
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** "5s, 5m, 30m, 2h" (units ms, s, m, h; a bare number is seconds) → milliseconds. */
export function parseDelayList(text: string): number[] {
	return text
		.split(/[\s,;]+/)
		.filter(Boolean)
		.map((token) => {
			const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/i.exec(token);
			if (!match) throw new Error(`"${token}" is not a delay (use e.g. 500ms, 5s, 5m, 2h)`);
			return Math.round(Number(match[1]) * UNIT_MS[(match[2] ?? 's').toLowerCase()]);
		});
}
