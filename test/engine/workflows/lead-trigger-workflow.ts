import type { WorkflowExecuteMode } from 'n8n-workflow';

import { metaSignature } from '../../support/meta';
import { redisCredential } from '../../support/redis';
import { callWebhook, type WebhookRequestSpec } from '../../../scripts/engine-harness/call-webhook';
import type { WorkflowJson } from '../../../scripts/engine-harness/run-workflow';

const credentialRefs = {
	leadPipelineRedis: { id: 'lp-redis', name: 'Lead Pipeline Redis' },
	leadPipelineWhatsAppApi: { id: 'lp-wa', name: 'WhatsApp' },
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
				credentials: credentialRefs,
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

export const APP_SECRET = 'meta-app-secret-for-tests';
export const VERIFY_TOKEN = 'verify-me-please';
export const FORM_SECRET = 'form-secret-0123456789';

/** Decrypted credentials the Lead Trigger tests hand the node, by credential type. */
export const leadTriggerCredentials = {
	leadPipelineRedis: redisCredential(),
	leadPipelineWhatsAppApi: { appSecret: APP_SECRET, verifyToken: VERIFY_TOKEN, accessToken: 'unused', phoneNumberId: '106540352242922' },
	leadPipelineFormSecretApi: { secret: FORM_SECRET, headerName: 'X-Lead-Signature' },
};

export const json = (body: unknown, headers: Record<string, string> = {}): WebhookRequestSpec => ({
	method: 'POST',
	headers: { 'content-type': 'application/json', ...headers },
	body: JSON.stringify(body),
});

export function signedMeta(body: unknown, secret = APP_SECRET): WebhookRequestSpec {
	const raw = JSON.stringify(body);
	return { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': metaSignature(raw, secret) }, body: raw };
}

/** Calls the Lead Trigger's webhook with these parameters (mode "manual" = the editor's test URL). */
export async function postToLeadTrigger(
	parameters: Record<string, unknown>,
	request: WebhookRequestSpec,
	options: { credentials?: object; mode?: WorkflowExecuteMode } = {},
) {
	return await callWebhook(leadTriggerWorkflow(parameters), request, {
		credentials: (options.credentials ?? leadTriggerCredentials) as Record<string, object>,
		mode: options.mode,
	});
}
