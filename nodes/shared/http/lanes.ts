/**
 * Bounded concurrency with lanes: items that share any key (a phone, an email) run one after
 * another in input order, in one lane; different lanes run side by side, at most `limit` at once.
 * Used where each item waits on a remote API (CRM Sync): a batch's pushes overlap their round
 * trips, while two opportunities of one person never race the CRM's find-or-create of that person.
 *
 * After the first failure no new item starts (a CRM that is down should not be hammered by the rest
 * of the batch); the items already running finish. Results are in input order: `value`, `error`,
 * or `skipped` for an item never started because of an earlier failure. Limit 1 runs every item
 * in input order.
 */
export type LaneResult<T> = { value: T } | { error: unknown } | { skipped: true };

export async function runInLanes<T>(keysOf: string[][], limit: number, work: (index: number) => Promise<T>): Promise<Array<LaneResult<T>>> {
	const results = new Array<LaneResult<T>>(keysOf.length).fill({ skipped: true });
	const width = Math.max(1, Math.floor(limit) || 1);
	const lanes = width === 1 ? [keysOf.map((_, i) => i)] : lanesOf(keysOf);
	let failed = false;
	await mapBounded(lanes, width, async (lane) => {
		for (const index of lane) {
			if (failed) return;
			try {
				results[index] = { value: await work(index) };
			} catch (error) {
				results[index] = { error };
				failed = true;
			}
		}
	});
	return results;
}

/** Runs `work` over `inputs` with at most `limit` in flight, results in input order; rejects with the first error. */
export async function mapBounded<T, R>(inputs: T[], limit: number, work: (input: T, index: number) => Promise<R>): Promise<R[]> {
	const results = new Array<R>(inputs.length);
	let next = 0;
	const runners = Array.from({ length: Math.min(Math.max(1, limit), inputs.length) }, async () => {
		while (next < inputs.length) {
			const index = next++;
			results[index] = await work(inputs[index], index);
		}
	});
	await Promise.all(runners);
	return results;
}

/** Item indexes grouped so that items sharing a key are in one lane; lanes ordered by their first item. */
export function lanesOf(keysOf: string[][]): number[][] {
	// Union-find over items: an item joins the set of each earlier item that had one of its keys.
	const parent = keysOf.map((_, i) => i);
	const root = (i: number): number => {
		while (parent[i] !== i) i = parent[i] = parent[parent[i]];
		return i;
	};
	const holder = new Map<string, number>();
	keysOf.forEach((keys, i) => {
		for (const key of keys) {
			const earlier = holder.get(key);
			if (earlier === undefined) holder.set(key, i);
			else {
				const [a, b] = [root(earlier), root(i)];
				if (a !== b) parent[Math.max(a, b)] = Math.min(a, b);
			}
		}
	});
	const lanes = new Map<number, number[]>();
	keysOf.forEach((_, i) => {
		const r = root(i);
		const lane = lanes.get(r);
		if (lane) lane.push(i);
		else lanes.set(r, [i]);
	});
	return [...lanes.values()].sort((a, b) => a[0] - b[0]);
}
