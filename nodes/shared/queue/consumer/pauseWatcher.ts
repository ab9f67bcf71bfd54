import type Redis from 'ioredis';

import { isPaused, pauseKey } from '../pause';
import type { BatchSlots } from './slots';
import type { ConsumerLog } from './types';

/** What waiting out a pause needs of the batch slots. */
type SlotWaiter = Pick<BatchSlots, 'count' | 'freedOr'>;

/**
 * Watches the group's pause flag (see ../pause.ts), reading it at most once per block interval.
 * A flag Redis cannot read counts as not paused: the pause switch must never be what stops a
 * pipeline. Changes are logged once (info, else warn); a failing read warns once until it recovers.
 */
export class PauseWatcher {
	private pausedNow = false;

	private nextCheckAt = 0;

	private checkFailing = false;

	constructor(
		private readonly command: Redis,
		private readonly options: { stream: string; group: string; blockMs: number },
		private readonly log: ConsumerLog,
	) {}

	/** The flag as last read. */
	get paused(): boolean {
		return this.pausedNow;
	}

	/**
	 * While the flag is set nothing new is read or claimed (in-flight batches finish, are acked and
	 * keep their heartbeat): returns true after waiting out the block interval, or less when a slot
	 * wakes (a stop, a finished batch). False: read on.
	 */
	async holdOff(slots: SlotWaiter, running: () => boolean): Promise<boolean> {
		await this.refresh(slots.count);
		if (!this.pausedNow || !running()) return false;
		await slots.freedOr(Math.max(1, this.nextCheckAt - Date.now()));
		return true;
	}

	/** Reads the flag when a block interval has passed since the last read; `inFlight` is for the log. */
	private async refresh(inFlight: number): Promise<void> {
		if (Date.now() < this.nextCheckAt) return;
		this.nextCheckAt = Date.now() + this.options.blockMs;
		const paused = await this.readFlag();
		if (paused === this.pausedNow) return;
		this.pausedNow = paused;
		this.logChange(paused, inFlight);
	}

	private async readFlag(): Promise<boolean> {
		const { stream, group } = this.options;
		try {
			const paused = await isPaused(this.command, stream, group);
			this.checkFailing = false;
			return paused;
		} catch (error) {
			if (!this.checkFailing) {
				this.log.warn(`Could not read the pause flag ${pauseKey(stream, group)} (${(error as Error).message}): consuming as not paused`, { paused: false });
			}
			this.checkFailing = true;
			return false;
		}
	}

	private logChange(paused: boolean, inFlight: number): void {
		const { stream, group } = this.options;
		const finishing = inFlight ? `, ${inFlight} batch${inFlight === 1 ? '' : 'es'} in flight finish${inFlight === 1 ? 'es' : ''}` : '';
		const text = paused
			? `Consuming ${stream} (group ${group}) paused by ${pauseKey(stream, group)}: reading nothing new${finishing}`
			: `Consuming ${stream} (group ${group}) resumed: the pause flag was cleared`;
		(this.log.info ?? this.log.warn).call(this.log, text, { stream, group, paused });
	}
}
