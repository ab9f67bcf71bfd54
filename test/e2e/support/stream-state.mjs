// Reads a Redis stream group's state for e2e checks: what is pending, how far the group has read,
// what a workflow wrote to an output stream, and which executions an n8n worker's log shows.

/** Stream ids compare as <ms>-<seq> pairs. */
export function compareIds(a, b) {
	const [am, as] = a.split('-').map(BigInt);
	const [bm, bs] = b.split('-').map(BigInt);
	return am === bm ? (as < bs ? -1 : as > bs ? 1 : 0) : am < bm ? -1 : 1;
}

/** Ids delivered to the group and not acknowledged yet. */
export async function pendingIds(redis, stream, group) {
	const ids = new Set();
	let start = '-';
	for (;;) {
		const page = await redis.xpending(stream, group, start, '+', 1000);
		for (const [id] of page) ids.add(id);
		if (page.length < 1000) return ids;
		const [ms, seq] = page[page.length - 1][0].split('-');
		start = `${ms}-${BigInt(seq) + 1n}`;
	}
}

/** The group's last-delivered-id (everything up to it was handed to some consumer). */
export async function lastDeliveredId(redis, stream, group) {
	for (const info of await redis.xinfo('GROUPS', stream)) {
		const fields = Object.fromEntries(info.reduce((pairs, value, i) => (i % 2 ? pairs : [...pairs, [value, info[i + 1]]]), []));
		if (fields.name === group) return fields['last-delivered-id'];
	}
	return '0-0';
}

/** Parsed `message` of every entry in a stream. */
export async function streamMessages(redis, stream) {
	const entries = await redis.xrange(stream, '-', '+');
	return entries.map(([, fields]) => JSON.parse(fields[fields.indexOf('message') + 1]));
}

/** Execution ids an n8n worker log says it started and finished. */
export function workerExecutions(logs) {
	const ids = (re) => new Set([...logs.matchAll(re)].map((m) => m[1]));
	return { started: ids(/Worker started execution (\d+)/g), finished: ids(/Worker finished execution (\d+)/g) };
}
