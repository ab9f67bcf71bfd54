import type { IAuthenticateGeneric, ICredentialTestRequest, ICredentialType, INodeProperties, Icon } from 'n8n-workflow';

export class LeadPipelineLeadSquaredApi implements ICredentialType {
	name = 'leadPipelineLeadSquaredApi';

	displayName = 'Lead Pipeline LeadSquared API';

	icon: Icon = { light: 'file:../nodes/CrmSync/crmSync.svg', dark: 'file:../nodes/CrmSync/crmSync.dark.svg' };

	documentationUrl = 'https://github.com/lead-pipeline/n8n-nodes-lead-pipeline#credentials';

	properties: INodeProperties[] = [
		{
			displayName: 'API Host',
			name: 'host',
			type: 'string',
			default: 'api-in21.leadsquared.com',
			placeholder: 'api-in21.leadsquared.com',
			description: "Your account's API host (LeadSquared → Settings → API and Webhooks): api.leadsquared.com, api-us11, api-in21, api-in22, api-ir31 or api-ca12. A full https:// URL also works.",
		},
		// LeadSquared issues the access key as a key, not a user name: it is kept out of logs like the secret.
		// eslint-disable-next-line @n8n/community-nodes/credential-unnecessary-password
		{
			displayName: 'Access Key',
			name: 'accessKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'Sent as the x-LSQ-AccessKey header',
		},
		{
			displayName: 'Secret Key',
			name: 'secretKey',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'Sent as the x-LSQ-SecretKey header',
		},
		{
			displayName: 'Allow Private Network Host',
			name: 'allowInternal',
			type: 'boolean',
			default: false,
			description: 'Whether to allow a loopback or private address (only for a test stand-in on your own machine)',
		},
	];

	authenticate: IAuthenticateGeneric = {
		type: 'generic',
		properties: {
			headers: {
				'x-LSQ-AccessKey': '={{$credentials.accessKey}}',
				'x-LSQ-SecretKey': '={{$credentials.secretKey}}',
			},
		},
	};

	test: ICredentialTestRequest = {
		request: {
			baseURL: '={{ (String($credentials.host).includes("://") ? String($credentials.host) : "https://" + String($credentials.host).trim()).replace(/\\/+$/, "").replace(/\\/v2$/i, "") + "/v2" }}',
			url: '/Authentication.svc/UserByAccessKey.Get',
		},
	};
}
