export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface Timer {
	promise: Promise<'timeout'>;
	clear: () => void;
	unref: () => void;
}

/** Resolves after ms (or never when ms is not positive); clear() releases the timer. */
export function timer(ms: number): Timer {
	let handle: NodeJS.Timeout | undefined;
	const promise = new Promise<'timeout'>((resolve) => {
		if (ms > 0) handle = setTimeout(() => resolve('timeout'), ms);
	});
	// unref: a day-long hold must not keep a process (or a test run) alive on its own.
	return { promise, clear: () => clearTimeout(handle), unref: () => void handle?.unref() };
}

export interface Deferred {
	promise: Promise<void>;
	resolve: () => void;
}

/** A promise with its resolve at hand (resolving twice is harmless). */
export function deferred(): Deferred {
	let resolve!: () => void;
	const promise = new Promise<void>((r) => (resolve = r));
	return { promise, resolve };
}
