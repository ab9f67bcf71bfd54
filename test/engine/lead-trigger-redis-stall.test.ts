import type { ChildProcess } from 'node:child_process';

import Redis from 'ioredis';

import { closeSharedRedis } from '../../nodes/shared/queue';
import { startRedisServer } from '../support/redis-server';
import { readMessages } from '../support/streams';
import { json, leadTriggerCredentials, postToLeadTrigger } from './workflows/lead-trigger-workflow';

// Issue 25 item 8: ioredis has no command timeout by default, so a paused Redis (SIGSTOP: the
// socket stays open, nothing answers) used to hold the sender's request until its own timeout.
// The Lead Trigger must answer 503 with Retry-After within a few seconds, never a 2xx, and a
// retry with the same Idempotency-Key after Redis resumes must not store the lead twice.
// A redis-server of this test's own on a free port: the shared one is never paused.
const ANSWER_WITHIN_MS = 4_000;
let server: { url: string; process: ChildProcess };
let redis: Redis;
let paused = false;

const pause = () => {
	server.process.kill('SIGSTOP');
	paused = true;
};
const resume = () => {
	server.process.kill('SIGCONT');
	paused = false;
};

beforeAll(async () => {
	server = await startRedisServer();
	redis = new Redis(server.url, { maxRetriesPerRequest: 1 });
});
afterEach(() => {
	if (paused) resume();
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
const post = async (stream: string, body: object, headers: Record<string, string> = {}) => {
	const started = Date.now();
	const result = await postToLeadTrigger({ source: 'website', stream }, json(body, headers), { credentials: credentials() });
	return { ...result, ms: Date.now() - started };
};
const lead = () => ({ name: `Stall ${++n}`, phone: `98450${String(10000 + n).slice(-5)}` });

jest.setTimeout(20_000);

describe('Lead Trigger › Redis stalled (SIGSTOP)', () => {
	test('an open connection to a paused Redis: 503 with Retry-After within a few seconds, then 2xx again after it resumes', async () => {
		const stream = `stall:${n}:filterQueue`;
		expect((await post(stream, lead())).status).toBe(202); // the intake connection is open and ready
		pause();
		const stalled = await post(stream, lead());
		expect(stalled.status).toBe(503);
		expect(stalled.ms).toBeLessThan(ANSWER_WITHIN_MS);
		expect(Number(stalled.headers['retry-after'])).toBeGreaterThan(0);
		expect(stalled.logs.join('\n')).toMatch(/warn: Lead Trigger could not accept a lead/);
		resume();
		const after = await post(stream, lead());
		expect(after.status).toBe(202);
		expect(await redis.xlen(stream)).toBeGreaterThanOrEqual(2);
	});

	test('no connection yet when Redis is paused (a cold start): 503 within a few seconds, not a hang', async () => {
		await closeSharedRedis();
		pause();
		const stalled = await post('stall:cold:filterQueue', lead());
		expect([stalled.status, stalled.ms < ANSWER_WITHIN_MS]).toEqual([503, true]);
		expect(Number(stalled.headers['retry-after'])).toBeGreaterThan(0);
	});

	test('a 503 answered during the stall and retried with the same Idempotency-Key after it: one lead in the stream', async () => {
		const stream = `stall:idem:filterQueue`;
		expect((await post(stream, lead())).status).toBe(202);
		pause();
		const body = lead();
		const headers = { 'idempotency-key': `order-${n}` };
		const stalled = await post(stream, body, headers);
		expect(stalled.status).toBe(503);
		resume();
		const retried = await post(stream, body, headers);
		expect(retried.status).toBe(202);
		const again = await post(stream, body, headers);
		expect(again.json).toMatchObject({ duplicate: true, traceId: (retried.json as { traceId: string }).traceId });
		const stored = await readMessages<{ leadData: { name: string } }>(redis, stream);
		expect(stored.filter((m) => m.leadData.name === body.name)).toHaveLength(1);
	});
});
