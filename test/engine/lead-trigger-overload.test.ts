import type { ChildProcess } from 'node:child_process';

import Redis from 'ioredis';

import { closeSharedRedis } from '../../nodes/shared/queue';
import { startRedisServer } from '../support/redis-server';
import { json, leadTriggerCredentials, postToLeadTrigger } from './workflows/lead-trigger-workflow';

// Issue 25, "Promises kept under faults": intake at 10× the sustainable rate must be answered
// 2xx/4xx/503, never left hanging while n8n's memory grows. The Lead Trigger sheds load itself:
// over its per-process cap on requests in flight, or while n8n's event loop is far behind, it
// answers 503 + Retry-After at once, storing nothing (so the sender's retry is safe).
// A redis-server of this test's own: pausing it (SIGSTOP) holds requests in flight inside the node.
let server: { url: string; process: ChildProcess };
let redis: Redis;
let paused = false;

beforeAll(async () => {
	server = await startRedisServer();
	redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
});
afterEach(() => {
	if (paused) server.process.kill('SIGCONT');
	paused = false;
});
afterAll(async () => {
	await closeSharedRedis();
	redis.disconnect();
	server.process.kill('SIGKILL');
});

function credentials() {
	const port = Number(new URL(server.url).port);
	return { ...leadTriggerCredentials, leadPipelineRedis: { connectionType: 'hostPort', host: '127.0.0.1', port, database: 0 } };
}

let n = 0;
const lead = () => ({ name: `Overload ${++n}`, phone: `98451${String(10000 + n).slice(-5)}` });
async function post(stream: string, options: Record<string, unknown>) {
	const started = Date.now();
	const result = await postToLeadTrigger({ source: 'website', stream, options }, json(lead()), { credentials: credentials() });
	return { ...result, ms: Date.now() - started };
}
const bodyOf = (result: { text: string }) => result.text;

jest.setTimeout(20_000);

describe('Lead Trigger › load shedding', () => {
	test('over Max Requests In Flight: 503 with Retry-After at once, nothing stored, while the earlier request is still in progress', async () => {
		const stream = 'overload:inflight:filterQueue';
		const options = { maxRequestsInFlight: 1, shedAtEventLoopDelayMs: 0 };
		expect((await post(stream, options)).status).toBe(202); // the intake connection is open
		server.process.kill('SIGSTOP');
		paused = true;
		const held = post(stream, options); // waits on the paused Redis, in flight inside the node
		await new Promise((r) => setTimeout(r, 200));
		const shed = await post(stream, options);
		expect({ status: shed.status, fast: shed.ms < 1_000 }).toEqual({ status: 503, fast: true });
		expect(Number(shed.headers['retry-after'])).toBeGreaterThan(0);
		expect(bodyOf(shed)).toMatch(/overloaded.*nothing was stored/i);
		expect(shed.logs.join('\n')).toMatch(/Max Requests In Flight/);
		server.process.kill('SIGCONT');
		paused = false;
		await held;
		// Once the earlier request is answered the cap admits again.
		expect((await post(stream, options)).status).toBe(202);
		expect(await redis.xlen(stream)).toBeLessThanOrEqual(3);
	});

	test('while the event loop is further behind than Shed at Event Loop Delay: 503 with Retry-After, nothing stored', async () => {
		const stream = 'overload:lag:filterQueue';
		const options = { maxRequestsInFlight: 0, shedAtEventLoopDelayMs: 100 };
		expect((await post(stream, options)).status).toBe(202);
		// Blocks the event loop 400 ms three times, as a process far over its capacity does.
		for (let i = 0; i < 3; i++) {
			const until = Date.now() + 400;
			while (Date.now() < until);
			await new Promise((r) => setTimeout(r, 20));
		}
		const before = await redis.xlen(stream);
		const shed = await post(stream, options);
		expect(shed.status).toBe(503);
		expect(Number(shed.headers['retry-after'])).toBeGreaterThan(0);
		expect(bodyOf(shed)).toMatch(/overloaded/i);
		expect(await redis.xlen(stream)).toBe(before);
		// Two quiet windows later the loop is on time again and leads are accepted.
		await new Promise((r) => setTimeout(r, 2_200));
		expect((await post(stream, options)).status).toBe(202);
	});

	test('the defaults shed nothing at an ordinary pace', async () => {
		const stream = 'overload:defaults:filterQueue';
		const answers = await Promise.all(Array.from({ length: 20 }, async () => (await post(stream, {})).status));
		expect(answers).toEqual(Array(20).fill(202));
	});
});
