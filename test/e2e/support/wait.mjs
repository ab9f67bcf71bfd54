// Polling helpers for the e2e tests: bounded waits that say what they waited for.
export async function until(check, what, { timeoutMs = 60_000, intervalMs = 200, logs, state } = {}) {
	const deadline = Date.now() + timeoutMs;
	let last;
	for (;;) {
		last = await check();
		if (last) return last;
		if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${state ? `\nlast state: ${JSON.stringify(state())}` : ''}${logs ? `\n${logs().slice(-3000)}` : ''}`);
		await new Promise((r) => setTimeout(r, intervalMs));
	}
}

/** Waits until `read()` gives the same JSON `quietReads` times in a row (a pipeline at rest). */
export async function settled(read, what, { timeoutMs = 180_000, intervalMs = 500, quietReads = 4, done = () => true } = {}) {
	let previous = '';
	let quiet = 0;
	let value;
	await until(
		async () => {
			value = await read();
			const text = JSON.stringify(value);
			quiet = text === previous && done(value) ? quiet + 1 : 0;
			previous = text;
			return quiet >= quietReads;
		},
		what,
		{ timeoutMs, intervalMs, state: () => value },
	);
	return value;
}

/** Prints a phase timing line to stderr (the test runner keeps stdout for its report). */
export function timer(prefix = 'full-pipeline') {
	const started = Date.now();
	let lap = started;
	return (label) => {
		const now = Date.now();
		process.stderr.write(`[${prefix}] ${label}: ${((now - lap) / 1000).toFixed(1)} s (total ${((now - started) / 1000).toFixed(1)} s)\n`);
		lap = now;
	};
}
