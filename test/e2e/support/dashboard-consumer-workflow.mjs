// The consumer the dashboard e2e pauses and resumes: the pack's Redis Stream Consumer Trigger on a
// stream + group (small batches, short block so the pause flag is read often) → the pack's Redis
// Stream Add writing one output entry per entry it received, so the test can see exactly what the
// consumer delivered while paused (nothing) and after Resume (everything, once).

/**
 * stream/group: what the dashboard shows and pauses; output: where delivered entries land;
 * consumer: a fixed consumer name (the dashboard lists it); blockMs: the block interval, which is
 * also how often the trigger reads the pause flag.
 */
export function dashboardConsumerWorkflow({ id, stream, group, output, consumer, blockMs = 500, batchSize = 5 }) {
	const credentials = { leadPipelineRedis: { id: 'LpRedisLocal0001', name: 'Lead Pipeline Redis' } };
	return {
		id,
		name: `Dashboard e2e: consume ${stream} → ${output}`,
		nodes: [
			{
				id: '5d2e7b61-0000-4000-8000-000000000001',
				name: 'Queue',
				type: 'n8n-nodes-lead-pipeline.redisStreamConsumerTrigger',
				typeVersion: 1,
				position: [0, 0],
				parameters: {
					stream,
					group,
					batchSize,
					concurrency: 1,
					ackMode: 'executionSucceeds',
					// A long claim timeout: entries pending for another consumer stay where the test put them.
					options: { blockMs, claimTimeoutMs: 600_000, consumer, maxRetries: 5, startId: '0' },
				},
				credentials,
			},
			{
				id: '5d2e7b61-0000-4000-8000-000000000002',
				name: 'Output',
				type: 'n8n-nodes-lead-pipeline.redisStream',
				typeVersion: 1,
				position: [260, 0],
				parameters: {
					operation: 'add',
					stream: output,
					payload: 'custom',
					message: '={{ { "traceId": $json.message.traceId, "entryId": $json.id, "deliveryCount": $json.deliveryCount } }}',
				},
				credentials,
			},
		],
		connections: { Queue: { main: [[{ node: 'Output', type: 'main', index: 0 }]] } },
		settings: { executionOrder: 'v1' },
		active: false,
	};
}
