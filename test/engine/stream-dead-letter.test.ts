import type Redis from 'ioredis';

import { errorsKey, moveToDeadLetters, recordErrors } from '../../nodes/shared/queue/streams';
import { deletePrefix, testRedis, uniquePrefix } from '../support/redis';
import { addJson, pendingCount, readAll } from '../support/streams';

// Issue 9 item 4: a dead-letter move is XADD-then-XACK in one script; a refused XADD leaves the
// entry pending instead of acknowledging it into no stream.
const prefix = uniquePrefix('dead-letter');
let redis: Redis;

beforeAll(() => {
	redis = testRedis();
});
afterAll(async () => {
	await deletePrefix(redis, prefix);
	redis.disconnect();
});

async function pendingEntries(stream: string, count: number) {
	const ids = await addJson(redis, stream, Array.from({ length: count }, (_, n) => ({ n })));
	await redis.xgroup('CREATE', stream, 'g', '0');
	await redis.xreadgroup('GROUP', 'g', 'c', 'COUNT', count, 'STREAMS', stream, '>');
	return ids;
}

const letter = (id: string) => ({ id, message: '{"n":0}', retryCount: 5, fallbackError: 'delivery limit reached' });

describe('dead-lettering', () => {
	test('DLQ key of the wrong type: the entry stays pending with its reason, and the failure is thrown', async () => {
		const stream = `${prefix}wrongtype:queue`;
		const dlqStream = `${prefix}wrongtype:dlq`;
		await redis.set(dlqStream, 'a string, not a stream');
		const [id] = await pendingEntries(stream, 1);
		await recordErrors(redis, stream, 'g', [{ id, error: 'CRM said 500' }]);

		await expect(moveToDeadLetters(redis, { stream, group: 'g', dlqStream }, [letter(id)])).rejects.toThrow(/WRONGTYPE/);
		expect(await pendingCount(redis, stream, 'g')).toBe(1);
		expect(await redis.hget(errorsKey(stream, 'g'), id)).toBe('CRM said 500');
		expect(await redis.get(dlqStream)).toBe('a string, not a stream');
	});

	test('a batch moves entry by entry: each one is either in the DLQ and acked, or still pending', async () => {
		const stream = `${prefix}batch:queue`;
		const dlqStream = `${prefix}batch:dlq`;
		const ids = await pendingEntries(stream, 3);
		const moved = await moveToDeadLetters(redis, { stream, group: 'g', dlqStream }, ids.map(letter));
		expect(moved).toEqual(ids);
		expect(await pendingCount(redis, stream, 'g')).toBe(0);
		expect((await readAll(redis, dlqStream)).map((e) => e.fields)).toEqual(
			ids.map((id) => ({
				message: '{"n":0}',
				originalQueue: stream,
				originalId: id,
				group: 'g',
				failedAt: expect.stringMatching(/^\d{4}-/),
				retryCount: '5',
				lastError: 'delivery limit reached',
			})),
		);
	});

	test('recordErrors checks what EXEC returned: a refused HSET is an error, not silence', async () => {
		const stream = `${prefix}errors:queue`;
		await redis.set(errorsKey(stream, 'g'), 'a string, not a hash');
		await expect(recordErrors(redis, stream, 'g', [{ id: '1-0', error: 'x' }])).rejects.toThrow(/WRONGTYPE/);
	});
});
