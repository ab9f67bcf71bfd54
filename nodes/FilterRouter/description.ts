import type { INodeParameters, INodeProperties } from 'n8n-workflow';
import { withMetricsOptions } from '../common/metricsOptions';

const processOptions = [
	{ name: 'NO_FILTER (Straight to CRM)', value: 'NO_FILTER' },
	{ name: 'PSV (Pre-Sales Verification)', value: 'PSV' },
	{ name: 'WEST (WEST Team)', value: 'WEST' },
	{ name: 'UNKNOWN (Manual Review)', value: 'UNKNOWN' },
	{ name: 'UPCOMING (Future Processing)', value: 'UPCOMING' },
];

/**
 * The outputs the node shows, one per process. Evaluated by n8n as an expression on the node's
 * parameters (like the Switch node's), so it must be self-contained: no imports, no closures.
 * execute() calls the same function to find an item's output index.
 */
export const routerOutputs = (parameters: INodeParameters): Array<{ type: 'main'; displayName: string }> => {
	const all = ['NO_FILTER', 'PSV', 'WEST', 'UNKNOWN', 'UPCOMING'];
	let shown = all;
	if (parameters.hideUnusedOutputs === true) {
		const used: string[] = [String(parameters.defaultProcess || 'UNKNOWN').trim().toUpperCase()];
		const rules = ((parameters.rules as { rule?: Array<{ process?: string }> } | undefined)?.rule ?? []);
		for (const rule of rules) used.push(String(rule.process || '').trim().toUpperCase());
		try {
			const map = JSON.parse(String(parameters.destinationMap || '{}')) as Record<string, unknown>;
			for (const key of Object.keys(map)) used.push(String(map[key]).trim().toUpperCase());
		} catch {
			// An invalid map fails in execute() with the parse error; show what the rules use meanwhile.
		}
		shown = all.filter((p) => used.indexOf(p) >= 0);
	}
	return shown.map((p) => ({ type: 'main', displayName: p }));
};

export const filterRouterProperties: INodeProperties[] = [
	{
		displayName: 'Namespace, lead store and sync queue come from the Pipeline Settings of the Lead Pipeline Redis credential. Rules are checked top to bottom; the first match wins, then the destination map, then the default.',
		name: 'notice',
		type: 'notice',
		default: '',
	},
	{
		displayName: 'Routing Rules',
		name: 'rules',
		type: 'fixedCollection',
		placeholder: 'Add Rule',
		typeOptions: { multipleValues: true, sortable: true },
		default: {},
		options: [
			{
				displayName: 'Rule',
				name: 'rule',
				values: [
					{ displayName: 'Process', name: 'process', type: 'options', options: processOptions, default: 'PSV', description: 'Where a lead matching this rule goes' },
					{
						displayName: 'Match',
						name: 'combine',
						type: 'options',
						options: [
							{ name: 'All Conditions', value: 'all' },
							{ name: 'Any Condition', value: 'any' },
						],
						default: 'all',
					},
					{
						displayName: 'Conditions',
						name: 'conditions',
						type: 'fixedCollection',
						placeholder: 'Add Condition',
						typeOptions: { multipleValues: true },
						default: {},
						options: [
							{
								displayName: 'Condition',
								name: 'condition',
								values: [
									{
										displayName: 'Field',
										name: 'field',
										type: 'options',
										options: [
											{ name: 'Source Channel', value: 'channel', description: 'WEBSITE, WHATSAPP, WHATSAPP_BOT, INSTAGRAM_BOT' },
											{ name: 'Destination', value: 'destination' },
											{ name: 'Other Value', value: 'value', description: 'Any field of the item, via an expression' },
										],
										default: 'destination',
									},
									{
										displayName: 'Value',
										name: 'value',
										type: 'string',
										default: '',
										placeholder: '={{ $json.message.leadData.utm.source }}',
										description: 'The value to test, usually an expression on the item',
										displayOptions: { show: { field: ['value'] } },
									},
									{
										displayName: 'Operator',
										name: 'operator',
										type: 'options',
										options: [
											{ name: 'Equals', value: 'equals', description: 'Ignoring case and surrounding spaces' },
											{ name: 'Is in List', value: 'inList', description: 'Comma- or newline-separated, ignoring case' },
											{ name: 'Matches Regex', value: 'regex', description: 'Case-insensitive regular expression' },
											{ name: 'Exists', value: 'exists', description: 'Present and not empty' },
										],
										default: 'equals',
									},
									{
										displayName: 'Compare To',
										name: 'expected',
										type: 'string',
										default: '',
										placeholder: 'Goa, Kerala',
										displayOptions: { hide: { operator: ['exists'] } },
									},
								],
							},
						],
					},
				],
			},
		],
	},
	{
		displayName: 'Destination Map (JSON)',
		name: 'destinationMap',
		type: 'string',
		typeOptions: { rows: 4 },
		default: '',
		placeholder: '{ "Goa": "WEST", "Dubai": "PSV" }',
		description: 'Optional destination → process map (as the existing backend keeps it), used when no rule matches. Destinations compare ignoring case.',
	},
	{
		displayName: 'Default Process',
		name: 'defaultProcess',
		type: 'options',
		options: processOptions,
		default: 'UNKNOWN',
		description: 'Process for a lead no rule and no map entry matches',
	},
	{
		displayName: 'Hide Unused Outputs',
		name: 'hideUnusedOutputs',
		type: 'boolean',
		default: false,
		description: 'Whether to show only the outputs of processes the rules, the map or the default can route to',
	},
	{
		displayName: 'Save to Lead Store',
		name: 'persist',
		type: 'boolean',
		default: true,
		description: 'Whether to record the process and initial stage on the opportunity (needs opportunityId from Dedupe Leads). The first routing of an opportunity wins, so a redelivered lead keeps its route.',
	},
	{
		displayName: 'Send NO_FILTER to Sync Queue',
		name: 'sendNoFilter',
		type: 'boolean',
		default: false,
		description: "Whether to add NO_FILTER opportunities to the sync queue ({ _id, traceID, action: 'CREATE', source }) once each",
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: withMetricsOptions([]),
	},
];
