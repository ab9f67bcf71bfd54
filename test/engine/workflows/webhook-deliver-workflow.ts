import type { WorkflowJson } from '../../../scripts/engine-harness/run-workflow';

/** Manual Trigger → Webhook Deliver → No-Ops named Delivered, Failed and Deferred. */
export function webhookDeliverWorkflow(parameters: Record<string, unknown>, credentials: { signing?: boolean; redis?: boolean } = {}): WorkflowJson {
	const creds: Record<string, { id: string; name: string }> = {};
	if (credentials.signing !== false) creds.leadPipelineWebhookSigningApi = { id: 'lp-sign', name: 'Webhook Signing' };
	if (credentials.redis) creds.leadPipelineRedis = { id: 'lp-redis', name: 'Lead Pipeline Redis' };
	const noOp = (name: string, y: number, n: number) => ({
		id: `e0000000-0000-4000-8000-00000000000${n}`, name, type: 'n8n-nodes-base.noOp', typeVersion: 1, position: [400, y] as [number, number], parameters: {},
	});
	return {
		nodes: [
			{ id: 'e0000000-0000-4000-8000-000000000001', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
			{
				id: 'e0000000-0000-4000-8000-000000000002',
				name: 'Webhook Deliver',
				type: 'n8n-nodes-lead-pipeline.webhookDeliver',
				typeVersion: 1,
				position: [200, 0],
				parameters: parameters as WorkflowJson['nodes'][number]['parameters'],
				credentials: creds,
			},
			noOp('Delivered', -100, 3),
			noOp('Failed', 0, 4),
			noOp('Deferred', 100, 5),
		],
		connections: {
			Start: { main: [[{ node: 'Webhook Deliver', type: 'main', index: 0 }]] },
			'Webhook Deliver': {
				main: [
					[{ node: 'Delivered', type: 'main', index: 0 }],
					[{ node: 'Failed', type: 'main', index: 0 }],
					[{ node: 'Deferred', type: 'main', index: 0 }],
				],
			},
		},
	};
}
