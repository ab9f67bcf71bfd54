import type { ICredentialType, INodeProperties, Icon } from 'n8n-workflow';

export class LeadPipelineWebhookSigningApi implements ICredentialType {
	name = 'leadPipelineWebhookSigningApi';

	displayName = 'Lead Pipeline Webhook Signing API';

	icon: Icon = { light: 'file:../nodes/WebhookDeliver/webhookDeliver.svg', dark: 'file:../nodes/WebhookDeliver/webhookDeliver.dark.svg' };

	documentationUrl = 'https://github.com/lead-pipeline/n8n-nodes-lead-pipeline#credentials';

	properties: INodeProperties[] = [
		{
			displayName: 'Signing Secret',
			name: 'secret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			placeholder: 'whsec_…',
			description: 'Standard Webhooks secret: whsec_ followed by base64 of 24–64 random bytes. Give the receiver the same value.',
		},
		{
			displayName: 'Previous Secrets',
			name: 'previousSecrets',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'During a rotation: old secrets, space-separated. Every secret gets its own signature, so receivers verify with either.',
		},
		{
			displayName: 'Auth Header Name',
			name: 'authHeaderName',
			type: 'string',
			default: '',
			placeholder: 'Authorization',
			description: 'Optional header the receiver also requires (sent on every attempt, never shown in output or errors)',
		},
		// A bearer token or API key: masked like one.
		// eslint-disable-next-line @n8n/community-nodes/credential-unnecessary-password
		{
			displayName: 'Auth Header Value',
			name: 'authHeaderValue',
			type: 'string',
			typeOptions: { password: true },
			default: '',
		},
	];
}
