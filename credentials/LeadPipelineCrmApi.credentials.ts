import type { IAuthenticateGeneric, ICredentialTestRequest, ICredentialType, INodeProperties, Icon } from 'n8n-workflow';

export class LeadPipelineCrmApi implements ICredentialType {
	name = 'leadPipelineCrmApi';

	displayName = 'Lead Pipeline In-House CRM API';

	icon: Icon = { light: 'file:../nodes/CrmSync/crmSync.svg', dark: 'file:../nodes/CrmSync/crmSync.dark.svg' };

	documentationUrl = 'https://github.com/lead-pipeline/n8n-nodes-lead-pipeline#credentials';

	properties: INodeProperties[] = [
		{
			displayName: 'Base URL',
			name: 'baseUrl',
			type: 'string',
			default: '',
			placeholder: 'https://crm.example.com/api',
			description: 'Root of the in-house CRM REST API (implements the contract in the README: /leads, /opportunities, /follow-ups)',
		},
		{
			displayName: 'API Key',
			name: 'apiKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'Sent as Authorization: Bearer &lt;API key&gt;',
		},
		{
			displayName: 'Allow Private Network Host',
			name: 'allowInternal',
			type: 'boolean',
			default: false,
			description: 'Whether to allow a loopback or private address (a CRM inside your own network)',
		},
	];

	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		properties: { headers: { Authorization: '=Bearer {{$credentials.apiKey}}' } },
	};

	// A lookup nobody can match: proves the URL and the key without touching data.
	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{ String($credentials.baseUrl).replace(/\\/+$/, "") }}',
			url: '/leads',
			qs: { email: 'n8n-credential-test@example.invalid' },
		},
	};
}
