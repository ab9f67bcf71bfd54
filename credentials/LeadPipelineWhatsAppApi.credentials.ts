import type { IAuthenticateGeneric, ICredentialTestRequest, ICredentialType, INodeProperties, Icon } from 'n8n-workflow';

export class LeadPipelineWhatsAppApi implements ICredentialType {
	name = 'leadPipelineWhatsAppApi';

	displayName = 'Lead Pipeline WhatsApp Cloud API';

	icon: Icon = { light: 'file:../nodes/LeadTrigger/leadTrigger.svg', dark: 'file:../nodes/LeadTrigger/leadTrigger.dark.svg' };

	documentationUrl = 'https://github.com/lead-pipeline/n8n-nodes-lead-pipeline#credentials';

	properties: INodeProperties[] = [
		{
			displayName: 'Access Token',
			name: 'accessToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'System-user access token with whatsapp_business_messaging permission (for sending)',
		},
		{
			displayName: 'Phone Number ID',
			name: 'phoneNumberId',
			type: 'string',
			default: '',
		},
		{
			displayName: 'App Secret',
			name: 'appSecret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'The Meta app secret: webhooks are verified with X-Hub-Signature-256 against it (WhatsApp and Instagram)',
		},
		{
			displayName: 'Verify Token',
			name: 'verifyToken',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'The token you entered in the Meta app webhook settings (hub.verify_token)',
		},
		{
			displayName: 'Graph API Version',
			name: 'graphApiVersion',
			type: 'string',
			default: 'v21.0',
		},
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: 'https://graph.facebook.com',
			description: 'Change only to point at a test stand-in',
		},
	];

	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		properties: { headers: { Authorization: '=Bearer {{$credentials.accessToken}}' } },
	};

	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{ $credentials.baseUrl }}/{{ $credentials.graphApiVersion }}',
			url: '=/{{ $credentials.phoneNumberId }}',
		},
	};
}
