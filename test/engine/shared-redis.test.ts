import type Redis from 'ioredis';

import { borrowRedis, REQUEST_COMMAND_TIMEOUT_MS, redisOptions, sharedRedis } from '../../nodes/shared/queue';
import { redisCredential, testRedis } from '../support/redis';

// Executions of one n8n process share one command connection per credential instead of a TCP
// connect + QUIT per node per execution (three per filter-queue batch).
const redis = testRedis();
const cred = () => ({ ...redisCredential(), database: 0 });
const idleBefore = sharedRedis.idleMs;
// Other test files in this process keep their own pools' connections open for a few seconds.
sharedRedis.connectionName = `n8n-lead-pipeline:shared:test-${process.pid}-${Date.now()}`;
sharedRedis.requestConnectionName = `n8n-lead-pipeline:intake:test-${process.pid}-${Date.now()}`;

afterEach(async () => {
	sharedRedis.idleMs = idleBefore;
	await sharedRedis.closeAll();
});
afterAll(() => redis.disconnect());

const connectionsNamed = async (name: string) => ((await redis.client('LIST')) as string).split('\n').filter((line) => line.includes(` name=${name} `)).length;

describe('shared Redis command connections', () => {
	test('concurrent and back-to-back borrowers of one credential get one connection; another credential gets its own', async () => {
		const a = await Promise.all([borrowRedis(cred()), borrowRedis(cred()), borrowRedis(cred())]);
		expect(new Set(a.map((l) => l.redis)).size).toBe(1);
		a.forEach((l) => l.release());
		const again = await borrowRedis(cred());
		expect(again.redis).toBe(a[0].redis);
		const other = await borrowRedis({ ...cred(), database: 1 });
		expect(other.redis).not.toBe(again.redis);
		expect(await connectionsNamed(sharedRedis.connectionName)).toBe(2);
		again.release();
		other.release();
	});

	test('closed after it has been idle for idleMs, not while borrowed', async () => {
		sharedRedis.idleMs = 100;
		const held = await borrowRedis(cred());
		await new Promise((r) => setTimeout(r, 250));
		expect(held.redis.status).toBe('ready');
		held.release();
		await new Promise((r) => setTimeout(r, 400));
		expect(held.redis.status).toBe('end');
		const fresh = await borrowRedis(cred());
		expect(fresh.redis).not.toBe(held.redis);
		expect(await fresh.redis.ping()).toBe('PONG');
		fresh.release();
	});

	test('a connection that is no longer ready is replaced by a fresh connect, not handed out', async () => {
		const first = await borrowRedis(cred());
		first.release();
		const ended = new Promise((r) => first.redis.once('end', r));
		first.redis.disconnect(); // what a Redis restart past the retries, or a network cut, leaves behind
		await ended;
		const next = await borrowRedis(cred());
		expect(next.redis).not.toBe(first.redis);
		expect(await next.redis.ping()).toBe('PONG');
		next.release();
	});

	test('a refused connect is reported with the reason and not kept: the next borrow tries again', async () => {
		const down = { ...cred(), port: 1 };
		await expect(borrowRedis(down)).rejects.toThrow('Could not connect to Redis');
		await expect(borrowRedis(down)).rejects.toMatchObject({ description: expect.stringMatching(/ECONNREFUSED/) });
		expect(sharedRedis.size()).toBe(0);
	});

	test('release twice counts once (a node closing in a finally after an error path)', async () => {
		sharedRedis.idleMs = 50;
		const a = await borrowRedis(cred());
		const b = await borrowRedis(cred());
		a.release();
		a.release();
		await new Promise((r) => setTimeout(r, 150));
		expect((b.redis as Redis).status).toBe('ready');
		b.release();
	});

	// Issue 26: the pool is the one cache of Redis clients; its map keys are digests, so a heap
	// snapshot or a debug print of the keys never shows a password or a connection URL.
	test('the pool keys hold no password or URL, yet another password is another connection', async () => {
		const password = 'known-secret-pw-26';
		// A Redis without requirepass accepts AUTH from the default user with a warning (ioredis).
		const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
		try {
			const withPassword = await borrowRedis({ ...cred(), username: undefined, password });
			const url = `redis://:${password}@${cred().host}:${cred().port}/0`;
			const withUrl = await borrowRedis({ connectionType: 'url', url });
			const keys = sharedRedis.keys();
			expect(keys).toHaveLength(2);
			for (const key of keys) {
				expect(key).not.toContain(password);
				expect(key).not.toContain(url);
				expect(key).toMatch(/^[0-9a-f]{64}$/);
			}
			const otherPassword = await borrowRedis({ ...cred(), username: undefined, password: `${password}-edited` });
			expect(otherPassword.redis).not.toBe(withPassword.redis);
			[withPassword, withUrl, otherPassword].forEach((b) => b.release());
		} finally {
			warn.mockRestore();
		}
	});

	// Issue 25 item 8: a request path (the Lead Trigger) must not be held by a stalled Redis, but the
	// nodes inside executions and the consumer's blocking reads must not get its short timeout.
	test('a request-path borrower gets a connection of its own whose commands time out; command connections keep none', async () => {
		const command = await borrowRedis(cred());
		const request = await borrowRedis(cred(), 'request');
		expect(request.redis).not.toBe(command.redis);
		expect(request.redis.options).toMatchObject({ commandTimeout: REQUEST_COMMAND_TIMEOUT_MS, enableOfflineQueue: false });
		expect(command.redis.options.commandTimeout).toBeUndefined();
		expect(await connectionsNamed(sharedRedis.requestConnectionName)).toBe(1);
		expect(await connectionsNamed(sharedRedis.connectionName)).toBe(1);
		const again = await borrowRedis(cred(), 'request');
		expect(again.redis).toBe(request.redis);
		[command, request, again].forEach((b) => b.release());
	});

	test('a consumer\'s blocking connection has no command timeout (XREADGROUP BLOCK waits as long as it asks)', () => {
		expect(redisOptions(cred(), 'blocking').commandTimeout).toBeUndefined();
		expect(redisOptions(cred(), 'command').commandTimeout).toBeUndefined();
		expect(redisOptions(cred(), 'request').commandTimeout).toBe(REQUEST_COMMAND_TIMEOUT_MS);
		// Unanswered commands of a dropped request connection are not sent again after a reconnect:
		// the caller may have been answered 503 already.
		expect(redisOptions(cred(), 'request').autoResendUnfulfilledCommands).toBe(false);
	});
});
