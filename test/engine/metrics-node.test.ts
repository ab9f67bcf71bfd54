import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type Redis from 'ioredis';
import type { IDataObject, WorkflowExecuteMode } from 'n8n-workflow';

import { dateIn, dayKey } from '../../nodes/shared/metrics/counters';
import { confirmKey } from '../../nodes/shared/metrics/dashboard';
import { isPaused, pauseKey, setPaused } from '../../nodes/shared/queue/pause';
import { recordDecisions } from '../../nodes/shared/metrics/recorder';
import { dlqStreamName } from '../../nodes/shared/queue/streamGroup';
import { deletePrefix, redisCredential, testRedis, uniquePrefix } from '../support/redis';
import { addJson } from '../support/streams';
import { errorOf, outputOf, runWorkflow } from '../../scripts/engine-harness/run-workflow';
import { metricsWorkflow } from './workflows/metrics-workflow';

const prefix = uniquePrefix('metrics-node');
const credentials = { leadPipelineRedis: redisCredential() };
let redis: Redis;

beforeAll(() => {
	redis = testRedis();
});
afterAll(async () => {
	await deletePrefix(redis, prefix);
	// Confirmation tokens live under the namespace, which carries the prefix too.
	redis.disconnect();
});

async function run(parameters: Record<string, unknown>, o: { input?: IDataObject[]; mode?: WorkflowExecuteMode } = {}) {
	const result = await runWorkflow(metricsWorkflow(parameters), { credentials, input: o.input, mode: o.mode ?? 'manual' });
	return { run: result, out: errorOf(result) ? [] : outputOf(result, 'Metrics'), error: errorOf(result) };
}

async function prepareQueue(name: string) {
	const q = { stream: `${prefix}${name}`, group: 'workers' };
	await addJson(redis, q.stream, [{ n: 1 }, { n: 2 }, { n: 3 }]);
	await redis.xgroup('CREATE', q.stream, q.group, '0');
	await redis.xreadgroup('GROUP', q.group, 'c1', 'COUNT', 1, 'STREAMS', q.stream, '>');
	await redis.xadd(dlqStreamName(q.stream, q.group), '*', 'message', JSON.stringify({ dead: true }), 'originalQueue', q.stream, 'originalId', '1-0', 'group', q.group, 'failedAt', new Date().toISOString(), 'retryCount', '5', 'lastError', 'boom');
	return q;
}

const webhookItem = (o: { query?: IDataObject; body?: IDataObject } = {}): IDataObject => ({
	headers: {},
	params: {},
	query: o.query ?? {},
	body: o.body ?? {},
	webhookUrl: 'http://127.0.0.1:5678/webhook/lead-pipeline/dashboard',
	executionMode: 'production',
});

describe('Lead Pipeline Metrics node', () => {
	test('Get Queue Health reports several queues at once', async () => {
		const q = await prepareQueue('health');
		const { out, error } = await run({ operation: 'health', queues: { queue: [q, { stream: `${prefix}other`, group: 'g' }] }, thresholds: { dlqSize: 0 } });
		expect(error).toBeUndefined();
		expect(out).toHaveLength(1);
		const queues = out[0].queues as IDataObject[];
		expect(queues[0]).toMatchObject({ stream: q.stream, length: 3, pending: 1, lag: 2, dlqSize: 1, state: 'red', alerts: { dlq: true } });
		expect(queues[1]).toMatchObject({ exists: false, state: 'ok' });
		expect(out[0].alerting).toBe(true);
	});

	test('a queue row without a group is a clear error', async () => {
		const { error } = await run({ operation: 'health', queues: { queue: [{ stream: 'x', group: '' }] } });
		expect(error).toMatch(/Queue 1 has no consumer group/);
	});

	test('Get Lead Metrics reads a date range or the last days in the chosen day boundaries', async () => {
		const namespace = `${prefix}leads`;
		await recordDecisions(redis, { namespace, now: new Date('2025-03-01T12:00:00Z') }, [
			{ traceId: 'a', counter: 'received', labels: { channel: 'WEBSITE' } },
			{ traceId: 'a', counter: 'new' },
			{ traceId: 'b', counter: 'received', labels: { channel: 'WEBSITE' } },
			{ traceId: 'b', counter: 'duplicate', labels: { matchedOn: 'email' } },
		]);
		await recordDecisions(redis, { namespace }, [{ traceId: 'today', counter: 'received', labels: { channel: 'WHATSAPP' } }]);

		const between = await run({ operation: 'leadMetrics', namespace, range: 'between', from: '2025-03-01T00:00:00', to: '2025-03-02T00:00:00', dayBoundary: 'utc' });
		expect(between.error).toBeUndefined();
		expect(between.out[0]).toMatchObject({ from: '2025-03-01', to: '2025-03-02', totals: { received: 2, new: 1, duplicate: 1 }, rates: { duplicateRate: 0.5 } });
		expect((between.out[0].days as IDataObject[]).length).toBe(2);

		const last = await run({ operation: 'leadMetrics', namespace, range: 'lastDays', days: 7 });
		expect(last.out[0]).toMatchObject({ to: dateIn(new Date(), 'UTC'), timeZone: 'UTC', totals: { received: 1 }, breakdown: { received: { WHATSAPP: 1 } } });

		const bad = await run({ operation: 'leadMetrics', namespace, range: 'between', from: '', to: '2025-03-02T00:00:00' });
		expect(bad.error).toMatch(/From is not a date/);
	});

	test('Pause and Resume: an editor test run changes nothing unless "Apply in Test Runs" is on; production runs do', async () => {
		const stream = `${prefix}pauseq`;
		const test = await run({ operation: 'pause', stream, group: 'g', pausedBy: 'ops' });
		expect(test.out[0]).toMatchObject({ applied: false, wouldSetPaused: true, paused: false });
		expect(await isPaused(redis, stream, 'g')).toBe(false);

		const applied = await run({ operation: 'pause', stream, group: 'g', pausedBy: 'ops', options: { applyInTestRuns: true } });
		expect(applied.out[0]).toMatchObject({ applied: true, paused: true, by: 'ops' });
		expect(await isPaused(redis, stream, 'g')).toBe(true);

		const testResume = await run({ operation: 'resume', stream, group: 'g' });
		expect(testResume.out[0]).toMatchObject({ applied: false, wouldSetPaused: false, paused: true });
		expect(await isPaused(redis, stream, 'g')).toBe(true);

		const resumed = await run({ operation: 'resume', stream, group: 'g' }, { mode: 'trigger' });
		expect(resumed.out[0]).toMatchObject({ applied: true, paused: false });
		expect(await isPaused(redis, stream, 'g')).toBe(false);
	});

	test('Replay Dead Letters uses the existing replay; a test run only lists what it would move', async () => {
		const q = await prepareQueue('replay');
		const dlq = dlqStreamName(q.stream, q.group);
		const test = await run({ operation: 'replayDeadLetters', dlqStream: dlq, limit: 10 });
		expect(test.out[0]).toMatchObject({ applied: false, wouldReplay: [expect.objectContaining({ queue: q.stream, lastError: 'boom' })] });
		expect(await redis.xlen(dlq)).toBe(1);

		const done = await run({ operation: 'replayDeadLetters', dlqStream: dlq, limit: 10 }, { mode: 'webhook' });
		expect(done.out[0]).toMatchObject({ applied: true, replayed: 1 });
		expect(await redis.xlen(dlq)).toBe(0);
		expect(await redis.xlen(q.stream)).toBe(4);
	});

	describe('Render Dashboard', () => {
		const namespace = `${prefix}dash`;
		const params = (queues: Array<{ stream: string; group: string }>, options: IDataObject = {}) => ({
			operation: 'dashboard',
			queues: { queue: queues },
			namespace,
			dayBoundary: 'utc',
			thresholds: { dlqSize: 0 },
			options,
		});

		test('GET answers the HTML page; ?format=json the same data as JSON', async () => {
			const q = await prepareQueue('dash-get');
			await recordDecisions(redis, { namespace }, [{ traceId: 'd1', counter: 'received', labels: { channel: 'INSTAGRAM' } }]);
			const page = await run(params([q]), { input: [webhookItem()], mode: 'webhook' });
			expect(page.error).toBeUndefined();
			expect(page.out[0]).toMatchObject({ statusCode: 200, contentType: 'text/html; charset=utf-8' });
			const html = String(page.out[0].body);
			expect(html).toContain(q.stream);
			expect(html).toMatch(/<td>INSTAGRAM<\/td><td class="num">1<\/td>/);
			expect(html).toMatch(/<td class="num red">1<br>/); // one dead letter, threshold 0
			expect(html).toContain('value="pause"');

			const json = await run(params([q]), { input: [webhookItem({ query: { format: 'json' } })], mode: 'webhook' });
			expect(json.out[0].contentType).toBe('application/json; charset=utf-8');
			const data = JSON.parse(String(json.out[0].body));
			expect(data.health.queues[0]).toMatchObject({ stream: q.stream, dlqSize: 1, pending: 1 });
			expect(data.metrics.totals.received).toBe(1);
			expect(data.metrics.days).toHaveLength(14);
		});

		test('POST asks for confirmation first, then pauses once; a used or forged token changes nothing', async () => {
			const q = await prepareQueue('dash-post');
			const first = await run(params([q]), { input: [webhookItem({ body: { action: 'pause', stream: q.stream, group: q.group } })], mode: 'webhook' });
			expect(first.out[0].statusCode).toBe(200);
			const confirmPage = String(first.out[0].body);
			expect(confirmPage).toContain(`Pause ${q.stream} (group workers)?`);
			expect(confirmPage).toContain('<a href="/webhook/lead-pipeline/dashboard">Cancel</a>');
			expect(await isPaused(redis, q.stream, q.group)).toBe(false);
			const token = /name="confirm" value="([0-9a-f]{32})"/.exec(confirmPage)?.[1];
			expect(token).toBeDefined();
			expect(await redis.ttl(confirmKey(namespace, token!))).toBeGreaterThan(200);

			const confirmed = await run(params([q]), { input: [webhookItem({ body: { action: 'pause', stream: q.stream, group: q.group, confirm: token! } })], mode: 'webhook' });
			expect(confirmed.out[0]).toMatchObject({ statusCode: 200, action: { action: 'pause', applied: true } });
			expect(String(confirmed.out[0].body)).toContain('content="5;url=/webhook/lead-pipeline/dashboard"');
			expect(JSON.parse((await redis.get(pauseKey(q.stream, q.group)))!)).toMatchObject({ by: 'dashboard' });

			await setPaused(redis, q.stream, q.group, false);
			const reused = await run(params([q]), { input: [webhookItem({ body: { action: 'pause', stream: q.stream, group: q.group, confirm: token! } })], mode: 'webhook' });
			expect(reused.out[0].statusCode).toBe(409);
			const forged = await run(params([q]), { input: [webhookItem({ body: { action: 'pause', stream: q.stream, group: q.group, confirm: 'f'.repeat(32) } })], mode: 'webhook' });
			expect(forged.out[0].statusCode).toBe(409);
			expect(await isPaused(redis, q.stream, q.group)).toBe(false);

			// A token issued for Resume does not pause.
			const resumeAsk = await run(params([q]), { input: [webhookItem({ body: { action: 'resume', stream: q.stream, group: q.group } })], mode: 'webhook' });
			const resumeToken = /name="confirm" value="([0-9a-f]{32})"/.exec(String(resumeAsk.out[0].body))?.[1];
			const swapped = await run(params([q]), { input: [webhookItem({ body: { action: 'pause', stream: q.stream, group: q.group, confirm: resumeToken! } })], mode: 'webhook' });
			expect(swapped.out[0].statusCode).toBe(409);
			expect(await isPaused(redis, q.stream, q.group)).toBe(false);
		});

		test('Replay from the dashboard moves dead letters back after confirmation', async () => {
			const q = await prepareQueue('dash-replay');
			const ask = await run(params([q]), { input: [webhookItem({ body: { action: 'replay', stream: q.stream, group: q.group } })], mode: 'webhook' });
			const token = /name="confirm" value="([0-9a-f]{32})"/.exec(String(ask.out[0].body))?.[1];
			const done = await run(params([q]), { input: [webhookItem({ body: { action: 'replay', stream: q.stream, group: q.group, confirm: token! } })], mode: 'webhook' });
			expect(done.out[0]).toMatchObject({ statusCode: 200, action: { action: 'replay', applied: true, result: { replayed: 1, failed: 0 } } });
			expect(await redis.xlen(dlqStreamName(q.stream, q.group))).toBe(0);
		});

		test('an unknown queue or action is refused; actions off refuses every POST; a test run walks the steps and changes nothing', async () => {
			const q = await prepareQueue('dash-refuse');
			const other = await run(params([q]), { input: [webhookItem({ body: { action: 'pause', stream: 'filterQueue', group: 'x' } })], mode: 'webhook' });
			expect(other.out[0].statusCode).toBe(400);
			const bogus = await run(params([q]), { input: [webhookItem({ body: { action: 'flush', stream: q.stream, group: q.group } })], mode: 'webhook' });
			expect(bogus.out[0].statusCode).toBe(400);
			const off = await run(params([q], { allowActions: false }), { input: [webhookItem({ body: { action: 'pause', stream: q.stream, group: q.group } })], mode: 'webhook' });
			expect(off.out[0].statusCode).toBe(403);
			const offPage = await run(params([q], { allowActions: false }), { input: [webhookItem()], mode: 'webhook' });
			expect(String(offPage.out[0].body)).not.toContain('<form');

			const ask = await run(params([q]), { input: [webhookItem({ body: { action: 'pause', stream: q.stream, group: q.group } })], mode: 'manual' });
			expect(String(ask.out[0].body)).toContain('Editor test run');
			const token = /name="confirm" value="([0-9a-f]{32})"/.exec(String(ask.out[0].body))?.[1];
			const test = await run(params([q]), { input: [webhookItem({ body: { action: 'pause', stream: q.stream, group: q.group, confirm: token! } })], mode: 'manual' });
			expect(test.out[0]).toMatchObject({ statusCode: 200, action: { applied: false } });
			expect(String(test.out[0].body)).toContain('Test run: nothing changed');
			expect(await isPaused(redis, q.stream, q.group)).toBe(false);
		});

		test('the workflow time zone decides "today" when day boundaries follow the workflow', async () => {
			const zoned = `${prefix}zoned`;
			await recordDecisions(redis, { namespace: zoned, timeZone: 'Pacific/Kiritimati' }, [{ traceId: 'k', counter: 'new' }]);
			const wf = metricsWorkflow({ operation: 'leadMetrics', namespace: zoned, range: 'lastDays', days: 1, dayBoundary: 'workflow' }, { executionOrder: 'v1', timezone: 'Pacific/Kiritimati' });
			const result = await runWorkflow(wf, { credentials });
			const [out] = outputOf(result, 'Metrics');
			expect(out).toMatchObject({ timeZone: 'Pacific/Kiritimati', to: dateIn(new Date(), 'Pacific/Kiritimati'), totals: { new: 1 } });
			expect(await redis.exists(dayKey(zoned, 'Pacific/Kiritimati', String(out.to)))).toBe(1);
		});
	});

	test('the dashboard template: GET+POST webhook with header auth → this node → Respond to Webhook, and its node settings render the page', async () => {
		const template = JSON.parse(readFileSync(join(__dirname, '..', '..', 'workflows', 'lead-pipeline-dashboard.json'), 'utf8')) as {
			nodes: Array<{ name: string; type: string; webhookId?: string; parameters: IDataObject; credentials?: Record<string, { id: string; name: string }> }>;
			connections: Record<string, { main: Array<Array<{ node: string }>> }>;
		};
		const byType = (type: string) => template.nodes.find((n) => n.type === type)!;
		const webhook = byType('n8n-nodes-base.webhook');
		expect(webhook.parameters).toMatchObject({ path: 'lead-pipeline/dashboard', httpMethod: ['GET', 'POST'], authentication: 'basicAuth', responseMode: 'responseNode' });
		expect(webhook.webhookId).toMatch(/^[0-9a-f-]{36}$/);
		expect(webhook.credentials).toEqual({ httpBasicAuth: { id: 'LpDashAuthLocal1', name: 'Lead Pipeline Dashboard Login' } });
		const metrics = byType('n8n-nodes-lead-pipeline.leadPipelineMetrics');
		expect(metrics.credentials).toEqual({ leadPipelineRedis: { id: 'LpRedisLocal0001', name: 'Lead Pipeline Redis' } });
		// Both outputs (GET and POST) go to the metrics node, which goes to Respond to Webhook.
		expect(template.connections[webhook.name].main.map((out) => out[0].node)).toEqual([metrics.name, metrics.name]);
		const respond = byType('n8n-nodes-base.respondToWebhook');
		expect(template.connections[metrics.name].main[0][0].node).toBe(respond.name);
		expect(respond.parameters).toMatchObject({ respondWith: 'text', responseBody: '={{ $json.body }}', options: { responseCode: '={{ $json.statusCode }}' } });
		expect(JSON.stringify(respond.parameters)).toContain('={{ $json.contentType }}');
		expect(template.nodes.some((n) => n.type === 'n8n-nodes-base.stickyNote')).toBe(true);

		// The template's own parameters, run through the engine against this test's Redis keys.
		const q = await prepareQueue('template');
		const parameters = structuredClone(metrics.parameters) as IDataObject & { queues: { queue: IDataObject[] }; namespace: string };
		parameters.queues.queue[0] = { ...parameters.queues.queue[0], stream: q.stream, group: q.group };
		parameters.namespace = `${prefix}template`;
		const page = await run(parameters, { input: [webhookItem()], mode: 'webhook' });
		expect(page.error).toBeUndefined();
		expect(page.out[0]).toMatchObject({ statusCode: 200, contentType: 'text/html; charset=utf-8' });
		expect(String(page.out[0].body)).toContain(q.stream);
		expect(String(page.out[0].body)).toContain('syncQueue');
		// The template's dead-letter streams of their own have a section (a real name, read-only here).
		expect(String(page.out[0].body)).toContain('<h2>Dead letters</h2>');
		expect(String(page.out[0].body)).toContain('<strong>DLQLeadIntake</strong>');
	});
});
