import type { WorkflowJson } from '../../../scripts/engine-harness/run-workflow';

const credentials = {
	leadPipelineRedis: { id: 'lp-redis', name: 'Lead Pipeline Redis' },
	leadPipelineLeadSquaredApi: { id: 'lp-lsq', name: 'Lead Pipeline LeadSquared API' },
	leadPipelineCrmApi: { id: 'lp-crm', name: 'Lead Pipeline In-House CRM API' },
};

type Parameters = WorkflowJson['nodes'][number]['parameters'];

function syncNodes(parameters: Record<string, unknown>, x = 200): WorkflowJson['nodes'] {
	return [
		{ id: 'e0000000-0000-4000-8000-000000000002', name: 'CRM Sync', type: 'n8n-nodes-lead-pipeline.crmSync', typeVersion: 1, position: [x, 0], parameters: parameters as Parameters, credentials },
		{ id: 'e0000000-0000-4000-8000-000000000003', name: 'Synced', type: 'n8n-nodes-base.noOp', typeVersion: 1, position: [x + 200, -100], parameters: {} },
		{ id: 'e0000000-0000-4000-8000-000000000004', name: 'Skipped', type: 'n8n-nodes-base.noOp', typeVersion: 1, position: [x + 200, 0], parameters: {} },
		{ id: 'e0000000-0000-4000-8000-000000000005', name: 'Failed', type: 'n8n-nodes-base.noOp', typeVersion: 1, position: [x + 200, 100], parameters: {} },
	];
}

const outputs = {
	'CRM Sync': {
		main: [[{ node: 'Synced', type: 'main' as const, index: 0 }], [{ node: 'Skipped', type: 'main' as const, index: 0 }], [{ node: 'Failed', type: 'main' as const, index: 0 }]],
	},
};

/** Manual Trigger → CRM Sync → No-Ops named Synced, Skipped and Failed. */
export function crmSyncWorkflow(parameters: Record<string, unknown>): WorkflowJson {
	return {
		nodes: [{ id: 'e0000000-0000-4000-8000-000000000001', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} }, ...syncNodes(parameters)],
		connections: { Start: { main: [[{ node: 'CRM Sync', type: 'main', index: 0 }]] }, ...outputs },
	};
}

/** Redis Stream Consumer Trigger on the sync queue → CRM Sync → Synced / Skipped / Failed. */
export function crmSyncConsumerWorkflow(o: { stream: string; group: string; consumer: string; maxRetries?: number; dlqStream?: string; batchSize?: number }, parameters: Record<string, unknown>): WorkflowJson {
	return {
		name: `crm sync ${o.consumer}`,
		nodes: [
			{
				id: 'e0000000-0000-4000-8000-000000000001',
				name: 'Sync queue',
				type: 'n8n-nodes-lead-pipeline.redisStreamConsumerTrigger',
				typeVersion: 1,
				position: [0, 0],
				parameters: {
					stream: o.stream,
					group: o.group,
					batchSize: o.batchSize ?? 10,
					concurrency: 1,
					ackMode: 'executionSucceeds',
					options: { blockMs: 100, claimTimeoutMs: 3_000, startId: '0', stopTimeoutMs: 10_000, consumer: o.consumer, maxRetries: o.maxRetries ?? 5, ...(o.dlqStream ? { dlqStream: o.dlqStream } : {}) },
				},
				credentials: { leadPipelineRedis: credentials.leadPipelineRedis },
			},
			...syncNodes(parameters),
		],
		connections: { 'Sync queue': { main: [[{ node: 'CRM Sync', type: 'main', index: 0 }]] }, ...outputs },
	};
}
