import { systemClock, type Clock } from '../http';

/**
 * The clock WhatsApp Send reasons with (business hours, daily counters, token bucket, retries).
 * Production uses the system clock; tests install a fixed one so no result depends on the day
 * the suite runs.
 */
let current: Clock = systemClock;

export function whatsAppClock(): Clock {
	return current;
}

/** Tests only: install a clock; call with no argument to restore the system clock. */
export function useWhatsAppClock(clock?: Clock): void {
	current = clock ?? systemClock;
}
