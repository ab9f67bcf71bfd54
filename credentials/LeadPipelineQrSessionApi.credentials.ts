import type { IAuthenticateGeneric, ICredentialTestRequest, ICredentialType, INodeProperties, Icon } from 'n8n-workflow';

/**
 * A WhatsApp QR session service (a WhatsApp Web session kept alive by a service such as an
 * Evolution-API-style gateway, behind the pack's minimal contract):
 *   POST {base}/messages {"to": "+<digits>", "text": "…"} → {"id": "…"}
 *   GET  {base}/sessions/{sessionId} → {"id": "…", "status": "connected" | …}
 * with `Authorization: Bearer <API key>`.
 */
export class LeadPipelineQrSessionApi implements ICredentialType {
	name = 'leadPipelineQrSessionApi';

	displayName = 'Lead Pipeline QR Session API';

	icon: Icon = { light: 'file:../nodes/WhatsAppSend/whatsAppSend.svg', dark: 'file:../nodes/WhatsAppSend/whatsAppSend.dark.svg' };

	documentationUrl = 'https://github.com/lead-pipeline/n8n-nodes-lead-pipeline#credentials';

	properties: INodeProperties[] = [
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: '',
			placeholder: 'https://wa-session.example.com',
			required: true,
			description: 'Root of the service: the node calls {Base URL}/messages and {Base URL}/sessions/{Session ID}',
		},
		{
			displayName: 'API Key',
			name: 'apiKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			required: true,
			description: 'Sent as "Authorization: Bearer <API key>"',
		},
		{
			displayName: 'Session ID',
			name: 'sessionId',
			type: 'string',
			default: 'default',
			description: 'The WhatsApp session (phone) the service sends from; checked with GET /sessions/{Session ID} before sending',
		},
		{
			displayName: 'Allow Internal Addresses',
			name: 'allowInternal',
			type: 'boolean',
			default: false,
			description: 'Whether the service may be on a private network or this host (e.g. http://wa-session:8080); off, such addresses are refused',
		},
	];

	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		properties: { headers: { Authorization: '=Bearer {{$credentials.apiKey}}' } },
	};

	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{ $credentials.baseUrl }}',
			url: '=/sessions/{{ $credentials.sessionId }}',
		},
	};
}
