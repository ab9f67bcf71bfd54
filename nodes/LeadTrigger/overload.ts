import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

/**
 * Load shedding for the intake path, per n8n process. Under a burst n8n accepts every connection
 * and queues the work in memory; a caller then waits until its own timeout (a hang, not an
 * answer) while memory grows. Answering 503 + Retry-After early keeps the promise "2xx means
 * stored, 503 means retry, never a hang": nothing was stored, so the sender's retry is safe.
 */

/** Seconds a sender should wait before retrying an overload 503. */
export const OVERLOAD_RETRY_AFTER_SECONDS = 2;
export const DEFAULT_MAX_IN_FLIGHT = 200;
export const DEFAULT_SHED_AT_LAG_MS = 1000;
/** Lag is judged over windows this long: one slow tick is not overload, a slow second is. */
const LAG_WINDOW_MS = 1000;

export interface ShedLimits {
	/** Most intake requests this process handles at once (0 = no cap). */
	maxInFlight: number;
	/** Shed while the event loop's p99 delay over the last window exceeds this (0 = never). */
	shedAtLagMs: number;
}

let inFlight = 0;
let histogram: IntervalHistogram | undefined;
let windowStarted = 0;
let lastWindowLagMs = 0;

/** p99 event-loop delay (ms) of the last full window and the current one, whichever is higher. */
export function recentEventLoopLagMs(now = Date.now()): number {
	if (!histogram) {
		// Started on first use: an n8n without a Lead Trigger never pays for the sampling timer.
		histogram = monitorEventLoopDelay({ resolution: 10 });
		histogram.enable();
		windowStarted = now;
		return 0;
	}
	const current = histogram.count > 0 ? histogram.percentile(99) / 1e6 : 0;
	if (now - windowStarted >= LAG_WINDOW_MS) {
		lastWindowLagMs = current;
		histogram.reset();
		windowStarted = now;
		return current;
	}
	return Math.max(lastWindowLagMs, current);
}

export type Admission = { admitted: true; release: () => void } | { admitted: false; reason: string };

/** Admits one request or says why it is shed; an admitted request must call release() once. */
export function admitIntake(limits: ShedLimits): Admission {
	if (limits.maxInFlight > 0 && inFlight >= limits.maxInFlight) {
		return { admitted: false, reason: `${inFlight} requests already in progress (option Max Requests In Flight: ${limits.maxInFlight})` };
	}
	if (limits.shedAtLagMs > 0) {
		const lag = recentEventLoopLagMs();
		if (lag > limits.shedAtLagMs) {
			return { admitted: false, reason: `n8n's event loop is ${Math.round(lag)} ms behind (option Shed at Event Loop Delay: ${limits.shedAtLagMs} ms)` };
		}
	}
	inFlight++;
	let released = false;
	return {
		admitted: true,
		release: () => {
			if (released) return;
			released = true;
			inFlight--;
		},
	};
}

/** Requests admitted and not yet released (for tests and logs). */
export const intakeInFlight = () => inFlight;
