import type { INodeParameters } from 'n8n-workflow';

import type { WorkflowJson } from '../../../scripts/engine-harness/run-workflow';

/** Manual Trigger → Qualify → No-Ops named after its two outputs. */
export function qualifyWorkflow(parameters: INodeParameters): WorkflowJson {
	const names = parameters.operation === 'qualify' ? ['Qualified', 'Not Qualified'] : ['Done', 'Rejected'];
	return {
		nodes: [
			{ id: 'q0000000-0000-4000-8000-000000000001', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
			{ id: 'q0000000-0000-4000-8000-000000000002', name: 'Qualify', type: 'n8n-nodes-lead-pipeline.qualify', typeVersion: 1, position: [200, 0], parameters, credentials: { leadPipelineRedis: { id: 'lp-redis', name: 'Lead Pipeline Redis' } } },
			...names.map((name, i) => ({ id: `q0000000-0000-4000-8000-00000000010${i}`, name, type: 'n8n-nodes-base.noOp', typeVersion: 1, position: [400, i * 100] as [number, number], parameters: {} })),
		],
		connections: {
			Start: { main: [[{ node: 'Qualify', type: 'main', index: 0 }]] },
			Qualify: { main: names.map((name) => [{ node: name, type: 'main', index: 0 }]) },
		},
	};
}
