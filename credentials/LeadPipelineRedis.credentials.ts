import type { ICredentialType, INodeProperties, Icon } from 'n8n-workflow';

export class LeadPipelineRedis implements ICredentialType {
	name = 'leadPipelineRedis';

	displayName = 'Lead Pipeline Redis';

	icon: Icon = { light: 'file:../nodes/RedisStream/redisStream.svg', dark: 'file:../nodes/RedisStream/redisStream.dark.svg' };

	documentationUrl = 'https://github.com/lead-pipeline/n8n-nodes-lead-pipeline#credentials';

	properties: INodeProperties[] = [
		{
			displayName: 'Connect With',
			name: 'connectionType',
			type: 'options',
			options: [
				{ name: 'Host and Port', value: 'hostPort' },
				{ name: 'Connection URL', value: 'url' },
			],
			default: 'hostPort',
		},
		// The URL carries the password, so it is masked like one.
		// eslint-disable-next-line @n8n/community-nodes/credential-unnecessary-password
		{
			displayName: 'Connection URL',
			name: 'url',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			placeholder: 'rediss://user:password@redis.example.com:6380/0',
			description: 'redis:// or rediss:// (TLS) URL, including user, password and database',
			displayOptions: { show: { connectionType: ['url'] } },
		},
		{
			displayName: 'Host',
			name: 'host',
			type: 'string',
			default: 'localhost',
			displayOptions: { show: { connectionType: ['hostPort'] } },
		},
		{
			displayName: 'Port',
			name: 'port',
			type: 'number',
			default: 6379,
			displayOptions: { show: { connectionType: ['hostPort'] } },
		},
		{
			displayName: 'Username',
			name: 'username',
			type: 'string',
			default: '',
			description: 'ACL user (Redis 6+); leave empty for the default user',
			displayOptions: { show: { connectionType: ['hostPort'] } },
		},
		{
			displayName: 'Password',
			name: 'password',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			displayOptions: { show: { connectionType: ['hostPort'] } },
		},
		{
			displayName: 'Database Number',
			name: 'database',
			type: 'number',
			default: 0,
			displayOptions: { show: { connectionType: ['hostPort'] } },
		},
		{
			displayName: 'SSL/TLS',
			name: 'tls',
			type: 'boolean',
			default: false,
			displayOptions: { show: { connectionType: ['hostPort'] } },
		},
		{
			displayName: 'Verify TLS Certificate',
			name: 'tlsRejectUnauthorized',
			type: 'boolean',
			default: true,
			description: 'Whether to reject servers whose certificate does not verify (turn off only for self-signed test servers)',
			displayOptions: { show: { connectionType: ['hostPort'], tls: [true] } },
		},
		// Set once, read by every Lead Pipeline node using this credential (nodes/shared/settings.ts).
		{
			displayName: 'Pipeline Settings: every Lead Pipeline node using this credential reads these, so they are set once here. Empty fields use the defaults.',
			name: 'pipelineSettingsNotice',
			type: 'notice',
			default: '',
		},
		{
			displayName: 'Namespace',
			name: 'namespace',
			type: 'string',
			default: 'leads',
			description: 'Scopes dedupe history, profiles and opportunities: leads are compared only within one namespace (e.g. one per brand)',
		},
		{
			displayName: 'Time Zone',
			name: 'timeZone',
			type: 'string',
			default: '',
			placeholder: 'Asia/Kolkata',
			description: "IANA time zone for follow-ups and send windows; empty = n8n's time zone",
		},
		{
			displayName: 'Filter Queue',
			name: 'filterQueue',
			type: 'string',
			default: 'filterQueue',
			description: 'Stream new leads are queued on',
		},
		{
			displayName: 'Sync Queue',
			name: 'syncQueue',
			type: 'string',
			default: 'syncQueue',
			description: 'Stream Filter Router and Qualify hand opportunities to CRM Sync on',
		},
		{
			displayName: 'Lead Store',
			name: 'leadStore',
			type: 'options',
			options: [
				{ name: 'Redis (This Connection)', value: 'redis' },
				{ name: 'MongoDB', value: 'mongodb' },
			],
			default: 'redis',
			description: 'Where dedupe history, profiles and opportunities are kept. Queues always use Redis.',
		},
		// The connection string carries the password, so it is masked like one.
		// eslint-disable-next-line @n8n/community-nodes/credential-unnecessary-password
		{
			displayName: 'MongoDB Connection String',
			name: 'mongoConnectionString',
			type: 'string',
			typeOptions: { password: true },
			default: '',
			placeholder: 'mongodb+srv://user:password@cluster.example.net',
			displayOptions: { show: { leadStore: ['mongodb'] } },
		},
		{
			displayName: 'MongoDB Database',
			name: 'mongoDatabase',
			type: 'string',
			default: 'leadPipeline',
			displayOptions: { show: { leadStore: ['mongodb'] } },
		},
	];
}
