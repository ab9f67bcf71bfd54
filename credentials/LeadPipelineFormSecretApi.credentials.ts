import type { ICredentialType, INodeProperties, Icon } from 'n8n-workflow';

export class LeadPipelineFormSecretApi implements ICredentialType {
	name = 'leadPipelineFormSecretApi';

	displayName = 'Lead Pipeline Form Secret API';

	icon: Icon = { light: 'file:../nodes/LeadTrigger/leadTrigger.svg', dark: 'file:../nodes/LeadTrigger/leadTrigger.dark.svg' };

	documentationUrl = 'https://github.com/lead-pipeline/n8n-nodes-lead-pipeline#credentials';

	properties: INodeProperties[] = [
		{
			displayName: 'Secret',
			name: 'secret',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			description: 'At least 16 characters. Shared secret: sent as-is in the header. HMAC: key of the body signature.',
		},
		{
			displayName: 'Header Name',
			name: 'headerName',
			type: 'string',
			default: 'X-Lead-Signature',
			description: 'Request header that carries the secret or the hex HMAC-SHA256 of the signed content',
		},
		{
			displayName: 'Timestamp Header Name',
			name: 'timestampHeaderName',
			type: 'string',
			default: 'X-Lead-Timestamp',
			description:
				'Optional header with the Unix time (seconds) of the request. With HMAC, the signed content is then timestamp + "\\n" + Idempotency-Key (or empty) + "\\n" + raw body; the Lead Trigger refuses timestamps outside its tolerance window.',
		},
	];
}
