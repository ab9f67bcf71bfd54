import type { INodeProperties } from 'n8n-workflow';

export const dedupeProperties: INodeProperties[] = [
	{
		displayName: 'Store',
		name: 'store',
		type: 'options',
		options: [
			{ name: 'Redis', value: 'redis' },
			{ name: 'MongoDB', value: 'mongodb' },
		],
		default: 'redis',
		description: 'Where leads, profiles and opportunities are recorded (shared by every workflow and instance using it)',
	},
	{
		displayName: 'Match On',
		name: 'matchOn',
		type: 'multiOptions',
		options: [
			{ name: 'Phone', value: 'phone' },
			{ name: 'Email', value: 'email' },
			{ name: 'Name + Destination', value: 'nameDestination' },
		],
		default: ['phone', 'email', 'nameDestination'],
		description: 'Keys that make two leads the same, checked in the order phone, email, name + destination',
	},
	{
		displayName: 'Window (Days)',
		name: 'windowDays',
		type: 'number',
		typeOptions: { minValue: 0.0001 },
		default: 30,
		description: 'A lead matching one seen within this many days is a duplicate',
	},
	{
		displayName: 'Namespace',
		name: 'namespace',
		type: 'string',
		default: 'leads',
		description: 'Leads are compared only within one namespace (e.g. one per brand)',
	},
	{
		displayName: 'On Duplicate',
		name: 'onDuplicate',
		type: 'options',
		options: [
			{ name: 'Send to Duplicate Output', value: 'output' },
			{ name: 'Mark and Continue', value: 'continue', description: 'Duplicates go to New too, with isDuplicate: true' },
		],
		default: 'output',
	},
	{
		displayName: 'Items Without a Key',
		name: 'noKey',
		type: 'options',
		options: [
			{ name: 'Error', value: 'error', description: 'Fail the item with the reason (to the error output if the node has one)' },
			{ name: 'Pass Through as New', value: 'passThrough' },
		],
		default: 'error',
		description: 'What to do with a lead that has no phone, no email and no name + destination',
	},
	{
		displayName: 'Ex-Client Check',
		name: 'exClients',
		type: 'options',
		options: [
			{ name: 'Off', value: 'off' },
			{ name: 'From a List', value: 'list' },
			{ name: 'From a Redis Set', value: 'redisSet' },
		],
		default: 'off',
		description: 'Tag leads whose phone or email belongs to a former client (tags: ["ex-client"], plus a score bonus for Qualify)',
	},
	{
		displayName: 'Ex-Client Phones and Emails',
		name: 'exClientList',
		type: 'string',
		typeOptions: { rows: 3 },
		default: '',
		description: 'Comma- or newline-separated E.164 phones and emails',
		displayOptions: { show: { exClients: ['list'] } },
	},
	{
		displayName: 'Ex-Client Set Key',
		name: 'exClientSet',
		type: 'string',
		default: 'exClients',
		description: 'A Redis set holding E.164 phones and lowercased emails of former clients',
		displayOptions: { show: { exClients: ['redisSet'], store: ['redis'] } },
	},
	{
		displayName: 'Ex-Client Score Bonus',
		name: 'exClientBonus',
		type: 'number',
		default: 20,
		displayOptions: { show: { exClients: ['list', 'redisSet'] } },
	},
];
