import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';

import Redis from 'ioredis';

import { deletePrefix, redisCredential, testRedis, uniquePrefix } from '../support/redis';
import { freePort, redisAnswers } from '../support/redis-server';
import { addJson, eventually } from '../support/streams';
import { activateTrigger, type ActiveTrigger } from '../../scripts/engine-harness/run-workflow';
import { consumerWorkflow } from './workflows/consumer-workflow';

// Issue 8 §3: failures a person must act on reach n8n through emitError, with a description.
const prefix = uniquePrefix('consumer-errors');
let redis: Redis;
const active: ActiveTrigger[] = [];
const children: ChildProcess[] = [];

beforeAll(() => {
	redis = testRedis();
});
afterEach(async () => {
	await Promise.all(active.splice(0).map(async (t) => await t.close()));
	for (const child of children.splice(0)) child.kill('SIGKILL');
});
afterAll(async () => {
	await deletePrefix(redis, prefix);
	redis.disconnect();
});

async function redisWithPassword(password: string): Promise<{ port: number; admin: Redis }> {
	const port = await freePort();
	const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--requirepass', password], {
		stdio: 'ignore',
	});
	children.push(child);
	await eventually(async () => await redisAnswers(`redis://:${password}@127.0.0.1:${port}`), 5_000, 'redis-server');
	return { port, admin: new Redis({ port, host: '127.0.0.1', password }) };
}

describe('consumer trigger errors reach n8n', () => {
	test('the password changes under an active trigger: it reports an error with how to fix it, and no secret', async () => {
		const password = randomBytes(12).toString('hex');
		const { port, admin } = await redisWithPassword(password);
		const n = { stream: `${prefix}auth:queue`, group: 'g', processed: `${prefix}auth:processed` };
		const credential = { ...redisCredential(), host: '127.0.0.1', port, username: '', password };
		const trigger = await activateTrigger(consumerWorkflow({ ...n }), { credentials: { leadPipelineRedis: credential } });
		active.push(trigger);
		await addJson(admin, n.stream, [{ n: 1 }]);
		await trigger.waitForRuns(1);

		await admin.config('SET', 'requirepass', randomBytes(12).toString('hex'));
		await admin.client('KILL', 'TYPE', 'normal').catch(() => undefined);
		admin.disconnect();

		await eventually(async () => trigger.errors.length > 0, 20_000, 'emitError');
		const [error] = trigger.errors as Array<Error & { description?: string }>;
		expect(error.message).toMatch(/NOAUTH|WRONGPASS/);
		expect(error.description).toMatch(/credential/);
		expect(JSON.stringify({ message: error.message, description: error.description })).not.toContain(password);
	}, 40_000);

	test('the dead-letter stream key holds a string: the entry stays pending and the trigger reports it', async () => {
		const n = { stream: `${prefix}dlq-type:queue`, group: 'g', processed: `${prefix}dlq-type:processed`, gate: `${prefix}dlq-type:gate` };
		const dlqStream = `${prefix}dlq-type:dlq`;
		await redis.set(dlqStream, 'not a stream');
		await redis.set(n.gate, 'not a stream either: the Record step fails');
		const [id] = await addJson(redis, n.stream, [{ n: 1, fail: true }]);
		const trigger = await activateTrigger(consumerWorkflow({ ...n, options: { maxRetries: 1, dlqStream } }), {
			credentials: { leadPipelineRedis: redisCredential() },
		});
		active.push(trigger);
		await eventually(async () => trigger.errors.length > 0, 20_000, 'emitError');
		const [error] = trigger.errors as Array<Error & { description?: string }>;
		expect(error.message).toMatch(/WRONGTYPE/);
		expect(error.description).toContain(dlqStream);
		const pending = (await redis.xpending(n.stream, n.group, '-', '+', 10)) as Array<[string]>;
		expect(pending.map(([pid]) => pid)).toEqual([id]);
	}, 40_000);
});
