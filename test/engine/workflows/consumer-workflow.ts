import type { WorkflowJson } from '../../../scripts/engine-harness/run-workflow';

export interface ConsumerWorkflowOptions {
	stream: string;
	group: string;
	/** Where the workflow records what it processed (one entry per item, via Redis Stream Add). */
	processed: string;
	/** Items whose message has `fail: true` are written here instead; a string key makes that fail. */
	gate?: string;
	batchSize?: number;
	concurrency?: number;
	ackMode?: string;
	sleepMs?: number;
	/** Put the execution to wait (as a Wait node does) after the Record step. */
	wait?: boolean;
	options?: Record<string, unknown>;
}

const credentials = { leadPipelineRedis: { id: 'lp-redis', name: 'Lead Pipeline Redis' } };

/** Redis Stream Consumer Trigger → (Sleep) → Redis Stream Add of { id, deliveryCount, message }. */
export function consumerWorkflow(o: ConsumerWorkflowOptions): WorkflowJson {
	const target = o.gate ? `={{ $json.message && $json.message.fail ? "${o.gate}" : "${o.processed}" }}` : o.processed;
	const nodes: WorkflowJson['nodes'] = [
		{
			id: 'c0000000-0000-4000-8000-000000000001',
			name: 'Consume',
			type: 'n8n-nodes-lead-pipeline.redisStreamConsumerTrigger',
			typeVersion: 1,
			position: [0, 0],
			parameters: {
				stream: o.stream,
				group: o.group,
				batchSize: o.batchSize ?? 10,
				concurrency: o.concurrency ?? 1,
				ackMode: o.ackMode ?? 'executionSucceeds',
				options: { blockMs: 100, claimTimeoutMs: 3_000, startId: '0', stopTimeoutMs: 10_000, ...o.options },
			},
			credentials,
		},
		{
			id: 'c0000000-0000-4000-8000-000000000002',
			name: 'Sleep',
			type: 'harness.sleep',
			typeVersion: 1,
			position: [200, 0],
			parameters: { ms: o.sleepMs ?? 0 },
		},
		{
			id: 'c0000000-0000-4000-8000-000000000003',
			name: 'Record',
			type: 'n8n-nodes-lead-pipeline.redisStream',
			typeVersion: 1,
			position: [400, 0],
			parameters: {
				operation: 'add',
				stream: target,
				payload: 'custom',
				message: '={{ { "id": $json.id, "deliveryCount": $json.deliveryCount, "message": $json.message } }}',
			},
			credentials,
		},
	];
	const connections: WorkflowJson['connections'] = {
		Consume: { main: [[{ node: 'Sleep', type: 'main', index: 0 }]] },
		Sleep: { main: [[{ node: 'Record', type: 'main', index: 0 }]] },
	};
	if (o.wait) {
		nodes.push({ id: 'c0000000-0000-4000-8000-000000000004', name: 'Wait', type: 'harness.wait', typeVersion: 1, position: [600, 0], parameters: {} });
		connections.Record = { main: [[{ node: 'Wait', type: 'main', index: 0 }]] };
	}
	return { name: `consume ${o.stream}`, nodes, connections };
}
