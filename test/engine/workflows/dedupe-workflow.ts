import type { WorkflowJson } from '../../../scripts/engine-harness/run-workflow';

/** Manual Trigger → Dedupe Leads → No-Ops named New and Duplicate. */
export function dedupeWorkflow(parameters: Record<string, unknown>, onError?: string, typeVersion = 1): WorkflowJson {
	return {
		nodes: [
			{ id: 'd0000000-0000-4000-8000-000000000001', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
			{
				id: 'd0000000-0000-4000-8000-000000000002',
				name: 'Dedupe',
				type: 'n8n-nodes-lead-pipeline.dedupe',
				typeVersion,
				position: [200, 0],
				parameters: parameters as WorkflowJson['nodes'][number]['parameters'],
				credentials: { leadPipelineRedis: { id: 'lp-redis', name: 'Lead Pipeline Redis' } },
				...(onError ? { onError: onError as WorkflowJson['nodes'][number]['onError'] } : {}),
			},
			{ id: 'd0000000-0000-4000-8000-000000000003', name: 'New', type: 'n8n-nodes-base.noOp', typeVersion: 1, position: [400, -100], parameters: {} },
			{ id: 'd0000000-0000-4000-8000-000000000004', name: 'Duplicate', type: 'n8n-nodes-base.noOp', typeVersion: 1, position: [400, 100], parameters: {} },
		],
		connections: {
			Start: { main: [[{ node: 'Dedupe', type: 'main', index: 0 }]] },
			Dedupe: { main: [[{ node: 'New', type: 'main', index: 0 }], [{ node: 'Duplicate', type: 'main', index: 0 }]] },
		},
	};
}
