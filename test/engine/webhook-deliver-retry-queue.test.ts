import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { IDataObject } from 'n8n-workflow';

import { closeHttpAgents } from '../../nodes/shared/http';
import { sharedRedis } from '../../nodes/shared/queue';
import { newTraceId } from '../../nodes/shared/lead/trace';
import { fieldsToObject } from '../../nodes/shared/queue/streams';
import { delaySetKey, delayedEnvelopesKey, type WebhookQueueNames } from '../../nodes/shared/webhook/webhookQueue';
import { deletePrefix, redisCredential, testRedis, uniquePrefix } from '../support/redis';
import { WebhookReceiver } from '../../sandbox/webhookReceiver';
import { activateTrigger, errorOf, outputOf, runWorkflow, type WorkflowJson } from '../../scripts/engine-harness/run-workflow';
import { webhookDeliverWorkflow } from './workflows/webhook-deliver-workflow';

/**
 * Issue 25 item 3: no wait inside an execution outlives a consumer's claim. A throttling receiver
 * (429 + Retry-After: 150) must not hold the batch: the delivery is parked in the retry queue,
 * the execution ends at once, and the retry (same webhook-id) is delivered once when due.
 */

const secret = `whsec_${randomBytes(32).toString('base64')}`;
const signing = { secret };
const prefix = uniquePrefix('webhook-deliver-retry-queue');
const redis = testRedis();
let receiver: WebhookReceiver;
let n = 0;
let names: WebhookQueueNames;

beforeAll(async () => {
	receiver = await new WebhookReceiver(secret).start();
});
beforeEach(() => {
	n++;
	names = { keyPrefix: `${prefix}${n}`, retryStream: `${prefix}${n}:retry`, dlqStream: `${prefix}${n}:dlq` };
});
afterAll(async () => {
	await receiver.stop();
	await deletePrefix(redis, prefix);
	redis.disconnect();
	closeHttpAgents();
	await sharedRedis.closeAll();
});

type Template = WorkflowJson & { nodes: Array<WorkflowJson['nodes'][number] & { parameters: IDataObject }> };
const template = (file: string): Template => JSON.parse(readFileSync(join(__dirname, '..', '..', 'workflows', file), 'utf8')) as Template;
const shippedParameters = (file: string, node: string): IDataObject => {
	const found = template(file).nodes.find((candidate) => candidate.name === node);
	if (!found) throw new Error(`${file} has no node "${node}"`);
	return found.parameters;
};

/** Fits both templates' expressions: crm-sync reads $json.traceId, filter-queue $json.message.traceId. */
function lead(): IDataObject {
	const traceId = newTraceId();
	return { traceId, opportunityId: 'opp-1', crmPlatform: 'inhouse', crmLeadId: 'L1', message: { traceId, leadData: { name: 'Ann' } } };
}
const hook = (item: IDataObject) => item.webhook as IDataObject;

/** Runs a Webhook Deliver with these parameters, pointed at the sandbox receiver and this test's keys. */
async function run(parameters: IDataObject, input: IDataObject[], path: string) {
	const options = { ...(parameters.options as IDataObject), allowInternal: true, ...names };
	const workflow = webhookDeliverWorkflow({ ...parameters, url: `${receiver.url}${path}`, options }, { signing: true, redis: true });
	const started = Date.now();
	const result = await runWorkflow(workflow, { input, credentials: { leadPipelineWebhookSigningApi: signing, leadPipelineRedis: redisCredential() }, mode: 'trigger' });
	const error = errorOf(result);
	if (error) return { ms: Date.now() - started, error, delivered: [], failed: [], deferred: [] };
	return {
		ms: Date.now() - started,
		error,
		delivered: outputOf(result, 'Webhook Deliver', 0),
		failed: outputOf(result, 'Webhook Deliver', 1),
		deferred: outputOf(result, 'Webhook Deliver', 2),
	};
}

/** What time passing does to a parked delivery: its score and notBefore move into the past. */
async function makeDue(): Promise<void> {
	const members = await redis.zrange(delaySetKey(names), 0, -1);
	for (const member of members) {
		await redis.zadd(delaySetKey(names), Date.now() - 1, member);
		const envelope = JSON.parse((await redis.hget(delayedEnvelopesKey(names), member)) as string);
		await redis.hset(delayedEnvelopesKey(names), member, JSON.stringify({ ...envelope, notBefore: Date.now() - 1 }));
	}
}

/** The retry stream's entries as the Redis Stream Consumer Trigger hands them to the next node. */
async function consumedRetries(): Promise<IDataObject[]> {
	const entries = await redis.xrange(names.retryStream, '-', '+');
	return entries.map(([id, fields]) => ({ id, stream: names.retryStream, deliveryCount: 1, message: JSON.parse(fieldsToObject(fields).message) }));
}

describe('Webhook Deliver never waits in an execution longer than a claim', () => {
	test.each([
		['crm-sync.json', 'lead.synced webhook'],
		['filter-queue.json', 'WEST: assignment webhook'],
	])('%s "%s" as shipped: 429 + Retry-After 150 parks the delivery (due in ~150 s) and the run ends in seconds; released, it is delivered once with the same webhook-id', async (file, node) => {
		const path = `/throttle-${n}`;
		receiver.on(path, { failTimes: 1, failStatus: 429, retryAfter: '150' });
		const item = lead();
		const shipped = shippedParameters(file, node);
		const first = await run(shipped, [item], path);
		expect(first.error).toBeUndefined();
		expect(first.ms).toBeLessThan(5000);
		expect(first.delivered).toEqual([]);
		expect(first.failed).toEqual([]);
		expect(first.deferred).toHaveLength(1);
		const [member, score] = await redis.zrange(delaySetKey(names), 0, -1, 'WITHSCORES');
		expect(Number(score) - Date.now()).toBeGreaterThan(140_000);
		expect(Number(score) - Date.now()).toBeLessThanOrEqual(150_000);
		const parked = JSON.parse((await redis.hget(delayedEnvelopesKey(names), member)) as string);
		const webhookId = parked.webhookId as string;
		expect(receiver.to(path).map((r) => r.headers['webhook-id'])).toEqual([webhookId]);

		// Not yet due: the shipped release step moves nothing.
		const release = template(file).nodes.find((candidate) => candidate.parameters.operation === 'releaseDueRetries')!.parameters;
		expect((await run(release, [{}], path)).delivered[0]).toMatchObject({ released: 0 });
		expect(await redis.exists(names.retryStream)).toBe(0);

		await makeDue();
		const released = await run(release, [{}], path);
		expect(released.delivered[0]).toMatchObject({ released: 1 });
		const retries = await consumedRetries();
		expect(retries).toHaveLength(1);
		const second = await run(shipped, retries, path);
		expect(hook(second.delivered[0])).toMatchObject({ webhookId, status: 200, attempts: 2 });

		// The retry entry redelivered (a crash before the ack): skipped, not sent again.
		const again = await run(shipped, retries, path);
		expect(hook(again.delivered[0])).toMatchObject({ webhookId, alreadyDelivered: true });
		const got = receiver.to(path);
		expect(got.map((r) => r.answered)).toEqual([429, 200]);
		expect(new Set(got.map((r) => r.headers['webhook-id']))).toEqual(new Set([webhookId]));
		expect(got.every((r) => r.verified.ok)).toBe(true);
		expect(await redis.zcard(delaySetKey(names))).toBe(0);
	}, 20_000);

	test('a throttling receiver does not hold a batch: 100 lead.synced answered 429 + Retry-After 150 are all parked and the run ends in seconds', async () => {
		const path = `/throttle-batch-${n}`;
		receiver.on(path, { failTimes: 100, failStatus: 429, retryAfter: '150' });
		const items = Array.from({ length: 100 }, lead);
		const out = await run(shippedParameters('crm-sync.json', 'lead.synced webhook'), items, path);
		expect(out.ms).toBeLessThan(5000);
		expect(out.deferred).toHaveLength(100);
		expect(await redis.zcard(delaySetKey(names))).toBe(100);
		expect(receiver.to(path)).toHaveLength(100);
	}, 20_000);

	test('without the retry queue a long Retry-After is not slept: the run ends at once, the item goes to Failed (and the dead-letter stream) saying why', async () => {
		const path = `/throttle-no-queue-${n}`;
		receiver.on(path, { failTimes: 1, failStatus: 429, retryAfter: '150' });
		const out = await run({ eventType: 'lead.synced', useRedis: true, retryQueue: false }, [lead()], path);
		expect(out.ms).toBeLessThan(5000);
		expect(out.deferred).toEqual([]);
		expect(hook(out.failed[0])).toMatchObject({ reason: 'retryNotQueued', error: expect.stringMatching(/150 s.*Max Wait in Execution.*Long Waits Via Retry Queue/) });
		expect(await redis.xlen(names.dlqStream)).toBe(1);
		expect(receiver.to(path)).toHaveLength(1);
	}, 20_000);

	test('a short wait still happens inside the run (Retry-After 1 s is under the default bound)', async () => {
		const path = `/throttle-short-${n}`;
		receiver.on(path, { failTimes: 1, failStatus: 429, retryAfter: '1' });
		const out = await run({ eventType: 'lead.synced', useRedis: true, retryQueue: true }, [lead()], path);
		expect(hook(out.delivered[0])).toMatchObject({ status: 200, attempts: 2 });
	}, 20_000);

	test('the node refuses a Max Wait in Execution above 30 s and says why', async () => {
		const path = `/never-${n}`;
		receiver.on(path, {});
		const out = await run({ eventType: 'lead.synced', useRedis: true, retryQueue: true, maxInlineWaitMs: 60_000 }, [lead()], path);
		expect(out.error).toMatch(/Max Wait in Execution is 60000 ms; at most 30000 ms/);
		expect(receiver.to(path)).toHaveLength(0);
	});
});

describe('the shipped templates drive the retry queue', () => {
	test.each([
		['crm-sync.json', 'lead.synced webhook'],
		['filter-queue.json', 'WEST: assignment webhook'],
	])('%s: "%s" parks long waits; a schedule releases its due retries and a consumer on its retry stream feeds them back to it', (file, node) => {
		const workflow = template(file);
		const webhook = workflow.nodes.find((candidate) => candidate.name === node)!;
		expect(webhook.parameters).toMatchObject({ useRedis: true, retryQueue: true, maxInlineWaitMs: 5000 });
		const retryStream = (webhook.parameters.options as IDataObject).retryStream;
		expect(typeof retryStream).toBe('string');

		const feeding = (target: string) => Object.entries(workflow.connections).filter(([, outputs]) => JSON.stringify(outputs).includes(`"node":"${target}"`)).map(([source]) => workflow.nodes.find((candidate) => candidate.name === source)!);
		const consumer = feeding(node).find((source) => source.type === 'n8n-nodes-lead-pipeline.redisStreamConsumerTrigger' && source.parameters.stream === retryStream);
		expect(consumer).toBeDefined();
		const releaser = workflow.nodes.find((candidate) => candidate.type === 'n8n-nodes-lead-pipeline.webhookDeliver' && candidate.parameters.operation === 'releaseDueRetries');
		expect(releaser).toBeDefined();
		expect((releaser!.parameters.options as IDataObject).retryStream).toBe(retryStream);
		expect(releaser!.parameters.useRedis).toBe(true);
		const schedule = feeding(releaser!.name)[0];
		expect(schedule.type).toBe('n8n-nodes-base.scheduleTrigger');
	});

	test('queue-health "Alert webhook" stays inline but bounded', () => {
		const alert = shippedParameters('queue-health.json', 'Alert webhook');
		expect(alert.maxInlineWaitMs).toBe(5000);
	});
});

describe('the crm-sync template\'s retry loop, run as shipped', () => {
	/** The template's retry-queue nodes and its webhook, pointed at the sandbox and this test's keys. */
	function retryLoop(path: string): Template {
		const shipped = template('crm-sync.json');
		const keep = ['lead.synced webhook', 'lead.synced webhook retries due', 'Every minute: lead.synced webhook retries', 'Release due lead.synced webhook retries'];
		const nodes = shipped.nodes
			.filter((node) => keep.includes(node.name))
			.map((node) => {
				const parameters = { ...node.parameters };
				if (node.type === 'n8n-nodes-lead-pipeline.webhookDeliver') parameters.options = { ...(parameters.options as IDataObject), ...names, ...(parameters.operation === 'deliver' ? { allowInternal: true } : {}) };
				if (node.name === 'lead.synced webhook') parameters.url = `${receiver.url}${path}`;
				if (node.type === 'n8n-nodes-lead-pipeline.redisStreamConsumerTrigger') parameters.stream = names.retryStream;
				// The harness has no Schedule Trigger; a Manual Trigger in its place fires the same path once.
				if (node.type === 'n8n-nodes-base.scheduleTrigger') return { ...node, type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, parameters: {} };
				return { ...node, parameters };
			});
		const connections = Object.fromEntries(Object.entries(shipped.connections).filter(([source]) => keep.includes(source)));
		return { ...shipped, nodes, connections };
	}
	const credentials = () => ({ leadPipelineWebhookSigningApi: signing, leadPipelineRedis: redisCredential() });

	test('parked by a 429 + Retry-After 150, released by the schedule path, consumed from the retry stream and delivered once with the same webhook-id', async () => {
		const path = `/loop-${n}`;
		receiver.on(path, { failTimes: 1, failStatus: 429, retryAfter: '150' });
		const workflow = retryLoop(path);
		const parkedRun = await runWorkflow(workflow, { startNode: 'lead.synced webhook', input: [lead()], credentials: credentials(), mode: 'trigger' });
		expect(outputOf(parkedRun, 'lead.synced webhook', 2)).toHaveLength(1);
		const [webhookId] = receiver.to(path).map((r) => r.headers['webhook-id']);

		// The schedule path before the retry is due moves nothing; after, it releases the delivery.
		const releaseRun = async () => outputOf(await runWorkflow(workflow, { startNode: 'Every minute: lead.synced webhook retries', credentials: credentials(), mode: 'trigger' }), 'Release due lead.synced webhook retries', 0);
		expect(await releaseRun()).toEqual([expect.objectContaining({ released: 0 })]);
		await makeDue();
		expect(await releaseRun()).toEqual([expect.objectContaining({ released: 1 })]);

		const consumer = await activateTrigger(workflow, { triggerNode: 'lead.synced webhook retries due', credentials: credentials() });
		try {
			await consumer.waitForRuns(1, 15_000);
			expect(hook(outputOf(consumer.runs[0], 'lead.synced webhook', 0)[0])).toMatchObject({ webhookId, status: 200, attempts: 2 });
		} finally {
			await consumer.close();
		}
		const got = receiver.to(path);
		expect(got.map((r) => [r.answered, r.headers['webhook-id']])).toEqual([
			[429, webhookId],
			[200, webhookId],
		]);
		expect(await redis.xpending(names.retryStream, 'webhookDeliver')).toEqual([0, null, null, null]);
	}, 30_000);
});
