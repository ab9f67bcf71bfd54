import type { WorkflowJson } from '../../../scripts/engine-harness/run-workflow';

/** Manual Trigger → one Lead Pipeline Metrics node with the given parameters. */
export function metricsWorkflow(parameters: Record<string, unknown>, settings: WorkflowJson['settings'] = { executionOrder: 'v1', timezone: 'UTC' }): WorkflowJson {
	return {
		nodes: [
			{ id: 'mt000000-0000-4000-8000-000000000001', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
			{
				id: 'mt000000-0000-4000-8000-000000000002',
				name: 'Metrics',
				type: 'n8n-nodes-lead-pipeline.leadPipelineMetrics',
				typeVersion: 1,
				position: [200, 0],
				parameters: parameters as WorkflowJson['nodes'][number]['parameters'],
				credentials: { leadPipelineRedis: { id: 'lp-redis', name: 'Lead Pipeline Redis' } },
			},
		],
		connections: { Start: { main: [[{ node: 'Metrics', type: 'main', index: 0 }]] } },
		settings,
	};
}
