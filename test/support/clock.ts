import type { Clock } from '../../nodes/shared/http';

/** A clock that stands still until a test (or a sleep) moves it: never the wall clock. */
export interface FixedClock extends Clock {
	set(iso: string): void;
	advance(ms: number): void;
	/** Every wait the code under test asked for, in order. */
	sleeps: number[];
}

export function fixedClock(iso: string): FixedClock {
	let now = Date.parse(iso);
	if (Number.isNaN(now)) throw new Error(`bad clock time ${iso}`);
	const sleeps: number[] = [];
	return {
		sleeps,
		now: () => now,
		set: (at) => {
			now = Date.parse(at);
		},
		advance: (ms) => {
			now += ms;
		},
		sleep: async (ms) => {
			sleeps.push(ms);
			now += ms;
		},
	};
}
