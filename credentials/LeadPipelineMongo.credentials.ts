import type { ICredentialType, INodeProperties, Icon } from 'n8n-workflow';

// A database credential, not an API: named as the project names it (like LeadPipelineRedis).
// eslint-disable-next-line n8n-nodes-base/cred-class-name-unsuffixed
export class LeadPipelineMongo implements ICredentialType {
	// eslint-disable-next-line n8n-nodes-base/cred-class-field-name-unsuffixed
	name = 'leadPipelineMongo';

	// eslint-disable-next-line n8n-nodes-base/cred-class-field-display-name-missing-api
	displayName = 'Lead Pipeline MongoDB';

	icon: Icon = { light: 'file:../nodes/Dedupe/dedupe.svg', dark: 'file:../nodes/Dedupe/dedupe.dark.svg' };

	documentationUrl = 'https://github.com/lead-pipeline/n8n-nodes-lead-pipeline#credentials';

	// Kept so Dedupe Leads v1 workflows (Store = MongoDB) and their saved credentials keep working;
	// newer nodes read MongoDB from the Lead Pipeline Redis credential's Pipeline Settings.
	properties: INodeProperties[] = [
		{
			displayName: 'Only Dedupe Leads version 1 uses this credential. For new nodes, choose MongoDB as Lead Store under Pipeline Settings in the Lead Pipeline Redis credential.',
			name: 'legacyNotice',
			type: 'notice',
			default: '',
		},
		// The connection string carries the password, so it is masked like one.
		// eslint-disable-next-line @n8n/community-nodes/credential-unnecessary-password
		{
			displayName: 'Connection String',
			name: 'connectionString',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			placeholder: 'mongodb+srv://user:password@cluster.example.net',
		},
		{
			displayName: 'Database',
			name: 'database',
			type: 'string',
			default: 'leadPipeline',
		},
	];
}
