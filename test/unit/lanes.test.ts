import { lanesOf, mapBounded, runInLanes } from '../../nodes/shared/http/lanes';

const tick = async () => await new Promise((r) => setImmediate(r));

describe('lanes: bounded concurrency where items sharing a key run one after another', () => {
	test('items sharing any key share a lane, also through a chain (a~b by phone, b~c by email); lanes in order of their first item', () => {
		expect(lanesOf([['p1'], ['p2'], ['p1', 'e1'], ['e1'], [], ['p3', 'e9'], ['e9']])).toEqual([[0, 2, 3], [1], [4], [5, 6]]);
		// The chain joins two lanes formed earlier.
		expect(lanesOf([['a'], ['b'], ['a', 'b']])).toEqual([[0, 1, 2]]);
	});

	test('at most `limit` run at once; one lane runs in input order; results in input order', async () => {
		let running = 0;
		let most = 0;
		const order: number[] = [];
		const keys = [['x'], ['y'], ['x'], ['z'], ['w'], ['x']];
		const results = await runInLanes(keys, 3, async (i) => {
			running++;
			most = Math.max(most, running);
			order.push(i);
			await tick();
			await tick();
			running--;
			return i * 10;
		});
		expect(results).toEqual(keys.map((_, i) => ({ value: i * 10 })));
		expect(most).toBe(3);
		const lane = order.filter((i) => [0, 2, 5].includes(i));
		expect(lane).toEqual([0, 2, 5]);
	});

	test('after a failure nothing new starts; what runs finishes; the rest is skipped', async () => {
		const started: number[] = [];
		const results = await runInLanes([['a'], ['b'], ['c'], ['d']], 2, async (i) => {
			started.push(i);
			await tick();
			if (i === 0) throw new Error('CRM down');
			await tick();
			return i;
		});
		expect(started).toEqual([0, 1]);
		expect(results[0]).toEqual({ error: new Error('CRM down') });
		expect(results[1]).toEqual({ value: 1 });
		expect(results.slice(2)).toEqual([{ skipped: true }, { skipped: true }]);
	});

	test('limit 1 runs everything in input order', async () => {
		const order: number[] = [];
		await runInLanes([['a'], ['b'], ['a']], 1, async (i) => {
			order.push(i);
			await tick();
		});
		expect(order).toEqual([0, 1, 2]);
	});
});

describe('mapBounded', () => {
	test('at most `limit` in flight, results in input order', async () => {
		let running = 0;
		let most = 0;
		const results = await mapBounded([5, 6, 7, 8, 9], 2, async (n) => {
			running++;
			most = Math.max(most, running);
			await tick();
			running--;
			return n * 2;
		});
		expect(results).toEqual([10, 12, 14, 16, 18]);
		expect(most).toBe(2);
	});

	test('the work gets each input with its index (callers look up per-input data without a search)', async () => {
		const seen: Array<[string, number]> = [];
		await mapBounded(['a', 'b', 'a'], 2, async (input, index) => {
			seen.push([input, index]);
		});
		expect(seen.sort((x, y) => x[1] - y[1])).toEqual([['a', 0], ['b', 1], ['a', 2]]);
	});
});
