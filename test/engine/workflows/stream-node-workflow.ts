import type { WorkflowJson } from '../../../scripts/engine-harness/run-workflow';

/** Manual Trigger → one Redis Stream node with the given parameters. */
export function streamNodeWorkflow(parameters: Record<string, unknown>): WorkflowJson {
	return {
		nodes: [
			{ id: 'm0000000-0000-4000-8000-000000000001', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
			{
				id: 'm0000000-0000-4000-8000-000000000002',
				name: 'Redis Stream',
				type: 'n8n-nodes-lead-pipeline.redisStream',
				typeVersion: 1,
				position: [200, 0],
				parameters: parameters as WorkflowJson['nodes'][number]['parameters'],
				credentials: { leadPipelineRedis: { id: 'lp-redis', name: 'Lead Pipeline Redis' } },
			},
		],
		connections: { Start: { main: [[{ node: 'Redis Stream', type: 'main', index: 0 }]] } },
	};
}
