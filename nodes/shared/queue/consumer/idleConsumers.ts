import type Redis from 'ioredis';

import { removeIdleConsumers } from '../streamGroup';
import { DEFAULT_IDLE_CONSUMER_MS, type ConsumerOptions } from './options';
import { timer } from './timers';
import type { ConsumerLog } from './types';

/** How long a closing consumer waits for its own removal; Redis may be gone. */
const REMOVE_SELF_WITHIN_MS = 1_000;

/**
 * Consumers are named per activation, so every restart leaves a name in the group. Now and then
 * the ones idle with nothing pending are deleted; a closing consumer deletes itself if it holds
 * nothing (its name is never reused).
 */
export class IdleConsumerSweeper {
	private nextSweepAt = 0;

	constructor(
		private readonly command: Redis,
		private readonly options: ConsumerOptions,
		private readonly log: ConsumerLog,
	) {}

	/** At most once per half Idle Consumer time (≥ 1 s); failures are only a debug line. */
	async sweep(): Promise<void> {
		const o = this.options;
		const minIdleMs = o.idleConsumerMs ?? DEFAULT_IDLE_CONSUMER_MS;
		if (minIdleMs <= 0 || Date.now() < this.nextSweepAt) return;
		this.nextSweepAt = Date.now() + Math.max(1_000, Math.floor(minIdleMs / 2));
		try {
			const removed = await removeIdleConsumers(this.command, { ...o, keep: o.consumer, minIdleMs });
			if (removed.length) this.log.debug(`Removed ${removed.length} idle consumer(s) of ${o.group} on ${o.stream} with nothing pending`, { removed });
		} catch (error) {
			this.log.debug(`Could not remove idle consumers: ${(error as Error).message}`);
		}
	}

	/** Deletes this consumer if it holds nothing; gives up silently after a second. */
	async removeSelf(): Promise<void> {
		const o = this.options;
		const removal = removeIdleConsumers(this.command, { ...o, keep: o.consumer, minIdleMs: 0, self: o.consumer }).catch(() => undefined);
		const bound = timer(REMOVE_SELF_WITHIN_MS);
		await Promise.race([removal, bound.promise]);
		bound.clear();
	}
}
