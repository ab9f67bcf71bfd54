import type { WorkflowJson } from '../harness/run-workflow';

const credentials = {
	leadPipelineRedis: { id: 'lp-redis', name: 'Lead Pipeline Redis' },
	whatsAppCloudApi: { id: 'lp-wa', name: 'WhatsApp' },
	leadPipelineFormSecretApi: { id: 'lp-form', name: 'Form secret' },
};

/** Lead Trigger (with the given parameters) → No-Op on each of its outputs. */
export function leadTriggerWorkflow(parameters: Record<string, unknown>): WorkflowJson {
	return {
		nodes: [
			{
				id: 'l0000000-0000-4000-8000-000000000001',
				name: 'Lead Trigger',
				type: 'n8n-nodes-lead-pipeline.leadTrigger',
				typeVersion: 1,
				position: [0, 0],
				webhookId: 'l0000000-0000-4000-8000-0000000000ff',
				parameters: { path: 'leads', defaultCountry: 'IN', ...parameters } as WorkflowJson['nodes'][number]['parameters'],
				credentials,
			},
			{ id: 'l0000000-0000-4000-8000-000000000002', name: 'Leads', type: 'n8n-nodes-base.noOp', typeVersion: 1, position: [300, -100], parameters: {} },
			{ id: 'l0000000-0000-4000-8000-000000000003', name: 'Rejected', type: 'n8n-nodes-base.noOp', typeVersion: 1, position: [300, 0], parameters: {} },
			{ id: 'l0000000-0000-4000-8000-000000000004', name: 'Events', type: 'n8n-nodes-base.noOp', typeVersion: 1, position: [300, 100], parameters: {} },
		],
		connections: {
			'Lead Trigger': {
				main: [
					[{ node: 'Leads', type: 'main', index: 0 }],
					[{ node: 'Rejected', type: 'main', index: 0 }],
					[{ node: 'Events', type: 'main', index: 0 }],
				],
			},
		},
	};
}
