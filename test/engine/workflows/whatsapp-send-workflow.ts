import type { WorkflowJson } from '../../../scripts/engine-harness/run-workflow';

export const WHATSAPP_NODE = 'WhatsApp';

/** Manual Trigger → WhatsApp Send (its outputs are read straight from the node's run data). */
export function whatsAppWorkflow(parameters: Record<string, unknown>, extra: { onError?: string; credentials?: string[] } = {}): WorkflowJson {
	const names = extra.credentials ?? ['leadPipelineRedis', 'leadPipelineWhatsAppApi', 'leadPipelineQrSessionApi'];
	return {
		nodes: [
			{ id: 'a0000000-0000-4000-8000-000000000001', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} },
			{
				id: 'a0000000-0000-4000-8000-000000000002',
				name: WHATSAPP_NODE,
				type: 'n8n-nodes-lead-pipeline.whatsAppSend',
				typeVersion: 1,
				position: [200, 0],
				parameters: parameters as WorkflowJson['nodes'][number]['parameters'],
				credentials: Object.fromEntries(names.map((n) => [n, { id: n, name: n }])),
				...(extra.onError ? { onError: extra.onError as WorkflowJson['nodes'][number]['onError'] } : {}),
			},
		],
		connections: { Start: { main: [[{ node: WHATSAPP_NODE, type: 'main', index: 0 }]] } },
	};
}
