import { backoffDelay, HttpRequestError, retryAfterOf, withRetries, type HttpResponse } from '../../http';
import { classifyTransportError, PAIR_RATE_INTERVAL_MS, type GraphFailure } from '../graphErrors';
import type { ChannelName, ChannelResult, ChannelSent, RetryPolicy } from './channel';

/**
 * The one retry loop both channels send through (over the pack's one HTTP client): a channel
 * brings its request, how to read an error answer and how to read a 2xx.
 */

interface Attempt {
	verdict: 'success' | 'retryable' | 'permanent';
	retryAfterMs?: number;
	response?: HttpResponse;
	failure?: GraphFailure;
}

export interface ChannelWire {
	channel: ChannelName;
	request: () => Promise<HttpResponse>;
	classify: (response: HttpResponse) => GraphFailure;
	/** A 2xx as a sent message, or the failure when it lacks what a sent message needs. */
	success: (response: HttpResponse) => ChannelSent | GraphFailure;
}

export const trimSlash = (s: string) => s.replace(/\/+$/, '');

export function parseJson(response: HttpResponse): unknown {
	try {
		return response.json();
	} catch {
		return undefined;
	}
}

async function attemptOnce(wire: ChannelWire, policy: RetryPolicy): Promise<Attempt> {
	let response: HttpResponse;
	try {
		response = await wire.request();
	} catch (error) {
		if (!(error instanceof HttpRequestError)) throw error;
		// A request the server had in full (requestSent) is an unknown outcome, never retried:
		// the API has no idempotency key, so a second POST is a second message on the phone.
		const failure = classifyTransportError(error);
		return { verdict: failure.kind === 'retryable' ? 'retryable' : 'permanent', failure };
	}
	if (response.status >= 200 && response.status < 300) {
		const result = wire.success(response);
		if ('ok' in result) return { verdict: 'success', response };
		return { verdict: 'permanent', failure: result };
	}
	const failure = wire.classify(response);
	const retryAfter = retryAfterOf(response, policy.clock.now());
	// Pair rate: never retry the same recipient sooner than Meta's per-recipient interval.
	const floor = failure.pairRate ? PAIR_RATE_INTERVAL_MS : 0;
	return {
		verdict: failure.kind === 'retryable' ? 'retryable' : 'permanent',
		failure,
		retryAfterMs: Math.max(retryAfter ?? 0, floor) || undefined,
	};
}

export async function sendWithRetries(wire: ChannelWire, policy: RetryPolicy): Promise<ChannelResult> {
	const { channel } = wire;
	const outcome = await withRetries<Attempt>(async () => await attemptOnce(wire, policy), {
		attempts: policy.attempts,
		schedule: policy.schedule,
		maxInlineWaitMs: policy.maxInlineWaitMs,
		clock: policy.clock,
		random: policy.random,
	});
	const attempts = outcome.attempts.length;
	const last = outcome.attempts[attempts - 1];
	const pairRateHit = outcome.attempts.some((a) => a.failure?.pairRate) || undefined;
	if (outcome.status === 'success') return { ...(wire.success(last.response!) as ChannelSent), attempts, pairRateHit };
	const failure = last.failure!;
	if (outcome.status === 'deferred') return { ok: false, channel, failure, attempts, retryAt: outcome.nextAttemptAt, pairRateHit };
	if (outcome.status === 'exhausted') {
		// Out of in-execution attempts: hand the item back with the next wait it would have had.
		const wait = Math.max(last.retryAfterMs ?? 0, backoffDelay(policy.schedule, attempts + 1, policy.random));
		return { ok: false, channel, failure, attempts, retryAt: policy.clock.now() + wait, pairRateHit };
	}
	return { ok: false, channel, failure, attempts, pairRateHit };
}
