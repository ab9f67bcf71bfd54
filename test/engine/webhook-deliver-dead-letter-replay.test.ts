import { randomBytes } from 'node:crypto';

import { closeHttpAgents } from '../../nodes/shared/http';
import { listDeadLetters } from '../../nodes/shared/queue/streamAdmin';
import { webhookIdFor } from '../../nodes/shared/webhook/standardWebhooks';
import { fieldsToObject } from '../../nodes/shared/queue/streams';
import { newTraceId } from '../../nodes/shared/lead/trace';
import { deletePrefix, redisCredential, testRedis, uniquePrefix } from '../support/redis';
import { eventually } from '../support/streams';
import { WebhookReceiver } from '../../sandbox/webhookReceiver';
import { activateTrigger, errorOf, outputOf, runWorkflow, type WorkflowJson } from '../../scripts/engine-harness/run-workflow';
import { streamNodeWorkflow } from './workflows/stream-node-workflow';
import { webhookDeliverWorkflow } from './workflows/webhook-deliver-workflow';

// One dead-letter shape in the pack: Webhook Deliver's dead letters carry originalQueue (its retry
// stream), originalId, group, failedAt, retryCount and lastError like the consumer's, so Replay Dead
// Letters puts them on the retry stream and the retry workflow delivers them again.
const secret = `whsec_${randomBytes(32).toString('base64')}`;
const prefix = uniquePrefix('webhook-dlq-replay');
const redis = testRedis();
const credentials = { leadPipelineRedis: redisCredential(), leadPipelineWebhookSigningApi: { secret } };
const names = { keyPrefix: `${prefix}wh`, retryStream: `${prefix}retry`, dlqStream: `${prefix}dlq` };
let receiver: WebhookReceiver;

beforeAll(async () => {
	receiver = await new WebhookReceiver(secret).start();
});
afterAll(async () => {
	await receiver.stop();
	await deletePrefix(redis, prefix);
	redis.disconnect();
	closeHttpAgents();
});

const deliverParameters = (url: string) => ({ url, eventType: 'lead.created', baseDelayMs: 20, useRedis: true, options: { allowInternal: true, ...names } });

/** Redis Stream Consumer Trigger on the retry stream → Webhook Deliver: the retry workflow. */
function retryWorkflow(url: string): WorkflowJson {
	const deliver = webhookDeliverWorkflow(deliverParameters(url), { redis: true });
	const node = deliver.nodes.find((n) => n.name === 'Webhook Deliver')!;
	return {
		nodes: [
			{
				id: 'r0000000-0000-4000-8000-000000000001',
				name: 'Retry Queue',
				type: 'n8n-nodes-lead-pipeline.redisStreamConsumerTrigger',
				typeVersion: 1,
				position: [0, 0],
				parameters: { stream: names.retryStream, group: 'webhookRetry', batchSize: 10, concurrency: 1, ackMode: 'executionSucceeds', options: { blockMs: 100, claimTimeoutMs: 3_000, startId: '0' } },
				credentials: { leadPipelineRedis: { id: 'lp-redis', name: 'Lead Pipeline Redis' } },
			},
			node,
			...deliver.nodes.filter((n) => ['Delivered', 'Failed', 'Deferred'].includes(n.name)),
		],
		connections: { 'Retry Queue': { main: [[{ node: 'Webhook Deliver', type: 'main', index: 0 }]] }, 'Webhook Deliver': deliver.connections['Webhook Deliver'] },
	};
}

test('a Webhook Deliver dead letter has the DLQ shape, Replay Dead Letters puts it on the retry stream, and the retry workflow delivers it', async () => {
	receiver.on('/flaky', { failTimes: 3 });
	const traceId = newTraceId();
	const webhookId = webhookIdFor(traceId, 'lead.created');
	const first = await runWorkflow(webhookDeliverWorkflow(deliverParameters(`${receiver.url}/flaky`), { redis: true }), {
		input: [{ traceId, name: 'Ann' }],
		credentials,
		mode: 'trigger',
	});
	expect(errorOf(first)).toBeUndefined();
	expect(outputOf(first, 'Webhook Deliver', 1)).toHaveLength(1);

	const [letter] = await listDeadLetters(redis, names.dlqStream, { count: 10 });
	expect(letter).toMatchObject({
		originalQueue: names.retryStream,
		originalId: webhookId,
		group: expect.any(String),
		failedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
		retryCount: 3,
		lastError: 'HTTP 500',
		message: expect.objectContaining({ webhookId, url: `${receiver.url}/flaky`, reason: 'exhausted' }),
	});
	const [[, rawFields]] = await redis.xrange(names.dlqStream, '-', '+');
	expect(Object.keys(fieldsToObject(rawFields))).toEqual(['message', 'originalQueue', 'originalId', 'group', 'failedAt', 'retryCount', 'lastError']);
	expect(JSON.stringify(rawFields)).not.toContain(secret);

	const replay = await runWorkflow(streamNodeWorkflow({ operation: 'replayDeadLetters', dlqStream: names.dlqStream, limit: 10, replayIds: '' }), {
		credentials,
		mode: 'trigger',
	});
	expect(outputOf(replay, 'Redis Stream')).toEqual([expect.objectContaining({ replayed: true, queue: names.retryStream })]);
	expect(await redis.xlen(names.dlqStream)).toBe(0);

	const trigger = await activateTrigger(retryWorkflow(`${receiver.url}/unused`), { credentials });
	try {
		await trigger.waitForRuns(1);
		const run = trigger.runs[0];
		expect(errorOf(run)).toBeUndefined();
		expect(outputOf(run, 'Webhook Deliver', 0)).toEqual([
			expect.objectContaining({ webhook: expect.objectContaining({ webhookId, status: 200, attempts: 1 }) }),
		]);
		expect(receiver.to('/flaky')).toHaveLength(4);
		await eventually(async () => Number(((await redis.xpending(names.retryStream, 'webhookRetry')) as [number])[0]) === 0, 5_000, 'the retry entry to be acknowledged');
	} finally {
		await trigger.close();
	}
}, 60_000);
