import type { INodeParameters, INodeProperties } from 'n8n-workflow';

import { DEFAULT_LEADSQUARED_LEAD_ATTRIBUTES, DEFAULT_LEADSQUARED_OPPORTUNITY_FIELDS, type FieldMapping } from '../shared/crm';
import { withMetricsOptions } from '../common/metricsOptions';

const VALUE_HELP =
	'A path into the opportunity being pushed — lead.name, lead.phone, lead.email, opportunity.destination, opportunity.channel, opportunity.filtrationProcess, traceId, owner.crmUserId — or a fixed text';

function mappingProperty(displayName: string, name: string, fieldLabel: string, defaults: FieldMapping[], show: Record<string, string[]>, description: string): INodeProperties {
	return {
		displayName,
		name,
		type: 'fixedCollection',
		typeOptions: { multipleValues: true, sortable: true },
		placeholder: 'Add Field',
		default: { mappings: defaults.map(({ field, value }): INodeParameters => ({ field, value })) },
		displayOptions: { show },
		description,
		options: [
			{
				name: 'mappings',
				displayName: 'Field',
				values: [
					{ displayName: fieldLabel, name: 'field', type: 'string', default: '' },
					{ displayName: 'Value', name: 'value', type: 'string', default: '', description: VALUE_HELP },
				],
			},
		],
	};
}

export const crmSyncProperties: INodeProperties[] = [
	{
		displayName: 'Operation',
		name: 'operation',
		type: 'options',
		noDataExpression: true,
		options: [
			{ name: 'Sync Opportunities', value: 'sync', action: 'Push opportunities to the CRM', description: 'Push each opportunity of the input once' },
			{
				name: 'Release Due Retries',
				value: 'releaseDueRetries',
				action: 'Release due CRM retries',
				description: 'Put the sync messages whose wait in the Retry Queue is over back on the sync queue (run it from a Schedule Trigger every few seconds)',
			},
		],
		default: 'sync',
	},
	{
		displayName: 'Sync Queue',
		name: 'stream',
		type: 'string',
		default: 'syncQueue',
		description: 'The stream the Retry Queue puts held messages back on: the one the consumer trigger reads. Messages from a consumer trigger go back to the stream they came from.',
	},
	{
		displayName: 'CRM',
		name: 'provider',
		type: 'options',
		noDataExpression: true,
		options: [
			{ name: 'LeadSquared', value: 'leadsquared' },
			{ name: 'In-House CRM', value: 'inhouse', description: 'Any CRM implementing the REST contract in the README' },
		],
		default: 'leadsquared',
		displayOptions: { show: { operation: ['sync'] } },
	},
	{
		displayName:
			'Input: sync messages from the Redis Stream Consumer Trigger on the sync queue ({ _id, traceID, action, source }), or opportunities ({ opportunityId }). The opportunity and the person are read from the lead store named in the Pipeline Settings of the Redis credential.',
		name: 'inputNotice',
		type: 'notice',
		default: '',
	},
	{
		displayName: 'Opportunity Event Code',
		name: 'opportunityEventCode',
		type: 'number',
		required: true,
		default: 12000,
		displayOptions: { show: { provider: ['leadsquared'], operation: ['sync'] } },
		description: 'The code of the opportunity type in LeadSquared (Settings → Opportunity Types)',
	},
	mappingProperty(
		'Lead Attributes',
		'leadAttributes',
		'LeadSquared Attribute',
		DEFAULT_LEADSQUARED_LEAD_ATTRIBUTES,
		{ provider: ['leadsquared'] },
		'Lead fields sent with Lead.Capture (SearchBy and OwnerId are added by the node)',
	),
	mappingProperty(
		'Opportunity Fields',
		'opportunityFields',
		'Schema Name',
		DEFAULT_LEADSQUARED_OPPORTUNITY_FIELDS,
		{ provider: ['leadsquared'] },
		'Opportunity Fields for OpportunityManagement.svc/Capture. Keep the trace ID in a field with duplicate detection on in LeadSquared (default mx_Custom_1): a retry then finds the opportunity instead of creating a second one.',
	),
	mappingProperty('Lead Fields', 'inhouseLeadFields', 'Field', [], { provider: ['inhouse'] }, 'Extra fields sent as `fields` with POST /leads'),
	mappingProperty(
		'Opportunity Fields',
		'inhouseOpportunityFields',
		'Field',
		[{ field: 'destination', value: 'opportunity.destination' }],
		{ provider: ['inhouse'] },
		'Extra fields sent as `fields` with POST /opportunities',
	),
	{
		displayName: 'Default Sales Person (CRM User ID)',
		name: 'defaultOwner',
		type: 'string',
		default: '',
		description: 'Owner when the opportunity has no salesPersonToBeAssigned; empty = the CRM decides',
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: withMetricsOptions([
			{
				displayName: 'Attempts per Request',
				name: 'attempts',
				type: 'number',
				typeOptions: { minValue: 1, maxValue: 10 },
				default: 3,
				description: 'Tries for a 429 or 5xx before the item fails as transient and the stream consumer redelivers it',
			},
			{
				displayName: 'Concurrent Pushes',
				name: 'concurrentPushes',
				type: 'number',
				typeOptions: { minValue: 1, maxValue: 50 },
				default: 10,
				description:
					"How many of the batch's opportunities are pushed at once (each waits on 3–4 CRM calls). One person's opportunities (same phone, email or profile) still go one after another, so the CRM lead is never created twice. The Rate Limit below still caps the calls. 1: one after another in item order.",
			},
			{
				displayName: 'First Follow-Up',
				name: 'followUp',
				type: 'boolean',
				default: true,
				description: 'Whether to create a reminder for a FRESH_LEAD that has none',
			},
			{
				displayName: 'Follow-Up After (Hours)',
				name: 'followUpAfterHours',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 24,
			},
			{
				displayName: 'Longest Wait in an Execution (Seconds)',
				name: 'maxWaitSeconds',
				type: 'number',
				typeOptions: { minValue: 1, maxValue: 20 },
				default: 10,
				description:
					"The longest CRM Sync waits inside one execution (a retry's backoff, a CRM's Retry-After, a free rate-limit slot, another execution's push). At most 20: a wait holds the whole batch, and it must end well before the stream consumer's claim timeout and Max Execution Time. A longer wait goes to the Retry Queue (or, with it off, fails the execution so the consumer redelivers).",
			},
			{
				displayName: 'Max Retries (Retry Queue)',
				name: 'maxRetries',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 4,
				description: 'With the Retry Queue on: how many times an item may fail on its own (network, timeout, 5xx) before it leaves through Failed with its own error. Being throttled or never tried does not count.',
			},
			{
				displayName: 'Namespace',
				name: 'namespace',
				type: 'string',
				default: '',
				description: "Override the Pipeline Settings' namespace for this node (empty = the credential's)",
			},
			{
				displayName: 'Push Lease (Seconds)',
				name: 'leaseSeconds',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 120,
				description: 'How long one execution owns an opportunity while pushing it; another delivery meanwhile waits (see below) or fails to be retried later',
			},
			{
				displayName: 'Wait for a Push in Progress (Seconds)',
				name: 'waitForPushSeconds',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 150,
				description: 'When another execution holds the push lease (e.g. n8n was killed mid-push) and it ends within this many seconds, wait for it and then push, looking the CRM up first. 0: fail the execution at once so the stream consumer retries later. Keep it below the consumer\'s Max Execution Time.',
			},
			{
				displayName: 'Rate Limit (Calls)',
				name: 'rateLimit',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 5,
				description:
					"Calls per window your CRM plan allows, per credential. LeadSquared: set your plan's limit with Rate Window 5 (per 5 s: Lite 2, Pro 5, Super 10, Standard 15, Enterprise 25); if it is set higher, LeadSquared's first 429 (\"exceeded the limit of N in 5 second(s)\") sets the limiter to N per 5 s for an hour.",
			},
			{
				displayName: 'Rate Window (Seconds)',
				name: 'rateWindowSeconds',
				type: 'number',
				typeOptions: { minValue: 0.1 },
				default: 5,
			},
			{
				displayName: 'Retry Queue',
				name: 'retryQueue',
				type: 'boolean',
				default: false,
				description:
					'Whether items that cannot finish in this execution are held in Redis (the sorted set named after the sync queue plus :scheduled) and put back on the sync queue when due, so the batch still succeeds: a throttled item (429) or a long Retry-After waits there without counting a failure, items never tried are returned untried, and an item that fails on its own is retried with its own error until Max Retries (Retry Queue). Needs Release Due Retries on a schedule. Off: any unfinished item fails the execution and the consumer redelivers the whole batch.',
			},
			{
				displayName: 'Retry Delay (Ms)',
				name: 'retryDelayMs',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 1000,
				description: 'First wait between attempts; doubles each time (a 429 waits at least the rate window)',
			},
			{
				displayName: 'Share Rate Limit Via Redis',
				name: 'sharedRateLimit',
				type: 'boolean',
				default: true,
				description: 'Whether every n8n instance (main and workers) draws from one budget kept in Redis. Off: per n8n process.',
			},
			{
				displayName: 'Timeout (Ms)',
				name: 'timeoutMs',
				type: 'number',
				typeOptions: { minValue: 100 },
				default: 10000,
			},
			{
				displayName: 'Write to CRM in Test Runs',
				name: 'writeInTestRuns',
				type: 'boolean',
				default: false,
				description: 'Whether a manual run in the editor creates leads and opportunities. Off: it only looks the lead up and reports what would happen (testRun: true).',
			},
		]),
	},
];
