import type { INodeParameters } from 'n8n-workflow';

import { routerOutputs } from '../../../nodes/FilterRouter/description';
import type { WorkflowJson } from '../../../scripts/engine-harness/run-workflow';

/** Manual Trigger → Filter Router → one No-Op per visible output, named after the process. */
export function filterRouterWorkflow(parameters: INodeParameters, onError?: string): WorkflowJson {
	const outputs = routerOutputs(parameters).map((o) => o.displayName);
	return {
		nodes: [
			{ id: 'f0000000-0000-4000-8000-000000000001', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
			{
				id: 'f0000000-0000-4000-8000-000000000002',
				name: 'Router',
				type: 'n8n-nodes-lead-pipeline.filterRouter',
				typeVersion: 1,
				position: [200, 0],
				parameters,
				credentials: { leadPipelineRedis: { id: 'lp-redis', name: 'Lead Pipeline Redis' } },
				...(onError ? { onError: onError as WorkflowJson['nodes'][number]['onError'] } : {}),
			},
			...outputs.map((name, i) => ({ id: `f0000000-0000-4000-8000-00000000010${i}`, name, type: 'n8n-nodes-base.noOp', typeVersion: 1, position: [400, i * 100] as [number, number], parameters: {} })),
		],
		connections: {
			Start: { main: [[{ node: 'Router', type: 'main', index: 0 }]] },
			Router: { main: outputs.map((name) => [{ node: name, type: 'main', index: 0 }]) },
		},
	};
}
