// The workflow the queue-mode e2e runs: the pack's Redis Stream Consumer Trigger (on main) →
// n8n's Wait (in-process below 65 s, so the execution stays running and never goes to `waiting`)
// → the pack's Redis Stream Add writing one output entry per input entry, stamped with the n8n
// process that ran it ($env.N8N_RIG_PROCESS_NAME, set per process by QueueModeCluster).

/**
 * stream/group/output/dlq: stream names; batchSize and concurrency: the trigger's batch and parallel
 * executions (≥ workers × worker concurrency, or the workers idle); waitSeconds: time per batch;
 * claimTimeoutMs: how long a released entry stays idle before the trigger takes it again.
 */
export function queueModeWorkflow({ id, stream, group, output, dlq, batchSize, concurrency, waitSeconds, claimTimeoutMs }) {
	const credentials = { leadPipelineRedis: { id: 'LpRedisLocal0001', name: 'Lead Pipeline Redis' } };
	return {
		id,
		name: 'Queue mode e2e: consumer → wait → add',
		nodes: [
			{
				id: '9a1f0c33-0000-4000-8000-000000000001',
				name: 'Input stream',
				type: 'n8n-nodes-lead-pipeline.redisStreamConsumerTrigger',
				typeVersion: 1,
				position: [0, 0],
				parameters: {
					stream,
					group,
					batchSize,
					concurrency,
					ackMode: 'executionSucceeds',
					options: { blockMs: 1000, claimTimeoutMs, consumer: 'queue-mode-main', dlqStream: dlq, maxRetries: 5, startId: '0' },
				},
				credentials,
			},
			{
				id: '9a1f0c33-0000-4000-8000-000000000002',
				name: 'Work for a while',
				type: 'n8n-nodes-base.wait',
				typeVersion: 1.1,
				position: [240, 0],
				webhookId: '9a1f0c33-0000-4000-8000-0000000000aa',
				parameters: { resume: 'timeInterval', amount: waitSeconds, unit: 'seconds' },
			},
			{
				id: '9a1f0c33-0000-4000-8000-000000000003',
				name: 'Output stream',
				type: 'n8n-nodes-lead-pipeline.redisStream',
				typeVersion: 1,
				position: [480, 0],
				parameters: {
					operation: 'add',
					stream: output,
					payload: 'custom',
					message:
						'={{ { "traceId": $json.message.traceId, "entryId": $json.id, "deliveryCount": $json.deliveryCount, "processedBy": $env.N8N_RIG_PROCESS_NAME, "executionId": $execution.id } }}',
				},
				credentials,
			},
		],
		connections: {
			'Input stream': { main: [[{ node: 'Work for a while', type: 'main', index: 0 }]] },
			'Work for a while': { main: [[{ node: 'Output stream', type: 'main', index: 0 }]] },
		},
		settings: { executionOrder: 'v1' },
		active: false,
	};
}
