import { adviseOnRedisError } from '../redisErrors';
import type { ConsumerOptions } from './options';
import { ConsumerFailure } from './types';

const DEFAULT_MAX_CONSECUTIVE_FAILURES = 10;

/** What to do after a failed read: stop with a failure, or warn and read again after a back-off. */
export type ReadFailureVerdict = { failure: ConsumerFailure } | { warning: string; backOffMs: number };

/**
 * A permanent error (refused credentials, missing permissions) or `maxConsecutiveFailures` in a
 * row stop the consumer; anything else is retried with an exponential back-off of up to 5 s.
 */
export function judgeReadFailure(error: unknown, failuresInARow: number, options: ConsumerOptions): ReadFailureVerdict {
	const message = (error as Error).message;
	const advice = adviseOnRedisError(error, options);
	const limit = options.maxConsecutiveFailures ?? DEFAULT_MAX_CONSECUTIVE_FAILURES;
	if (advice.permanent || failuresInARow >= limit) {
		const why = advice.permanent ? message : `${failuresInARow} failures in a row, the last: ${message}`;
		return { failure: new ConsumerFailure(`Consuming ${options.stream} stopped: ${why}`, advice.description, error) };
	}
	return {
		warning: `Reading ${options.stream} failed (${failuresInARow} in a row): ${message}`,
		backOffMs: Math.min(100 * 2 ** Math.min(failuresInARow, 6), 5_000),
	};
}

/**
 * A connection error event: only a permanent one is a failure (a reconnect Redis refuses shows only
 * as an error event; the driver keeps reconnecting and a blocked read would wait forever).
 */
export function judgeConnectionError(error: unknown, options: ConsumerOptions): ConsumerFailure | undefined {
	const advice = adviseOnRedisError(error, options);
	if (!advice.permanent) return undefined;
	return new ConsumerFailure(`Consuming ${options.stream} stopped: ${(error as Error).message}`, advice.description, error);
}
