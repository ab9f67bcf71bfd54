import type Redis from 'ioredis';
import { type IExecuteFunctions, type INodeExecutionData, type INodeProperties, NodeOperationError } from 'n8n-workflow';

import { addEntries, type StreamEntry, type TrimOptions } from '../../shared/queue';
import { isTestRun, requiredText } from './common';
import { failedItem } from '../../common/failedItem';

const show = { show: { operation: ['add'] } };

export const addProperties: INodeProperties[] = [
	{
		displayName: 'Entries',
		name: 'entryPer',
		type: 'options',
		options: [
			{ name: 'One per Item', value: 'item', description: 'Each input item becomes its own entry' },
			{
				name: 'One for All Items',
				value: 'batch',
				description: 'All input items go into a single entry as a JSON array',
			},
		],
		default: 'item',
		displayOptions: show,
	},
	{
		displayName: 'Message',
		name: 'payload',
		type: 'options',
		options: [
			{ name: 'Whole Item JSON', value: 'item' },
			{ name: 'Custom JSON', value: 'custom' },
		],
		default: 'item',
		description: 'What is written, as JSON, under the entry field "message"',
		displayOptions: show,
	},
	{
		displayName: 'Message JSON',
		name: 'message',
		type: 'json',
		default: '={{ { "traceId": $json.traceId, "leadData": $json } }}',
		description: 'The JSON to write for each item',
		displayOptions: { show: { operation: ['add'], payload: ['custom'] } },
	},
	{
		displayName: 'Options',
		name: 'addOptions',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: show,
		options: [
			{
				displayName: 'Max Length',
				name: 'maxLen',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 0,
				description:
					'Trim the stream towards this many entries on each write (0 = never trim, the default). Only entries every consumer group has acknowledged are trimmed: entries still pending or not yet delivered to any group are kept, and a stream no group reads yet is not trimmed at all.',
			},
			{
				displayName: 'Exact Trim',
				name: 'exactTrim',
				type: 'boolean',
				default: false,
				description: 'Whether to trim exactly (slower) instead of in whole blocks (~), which may keep a few more entries',
			},
			{
				displayName: 'Test Runs Write To',
				name: 'testRunsWriteTo',
				type: 'options',
				options: [
					{ name: 'Test Stream', value: 'testStream', description: 'The stream name with ":test" appended' },
					{ name: 'Nothing', value: 'nothing', description: 'Only show the entries in the editor' },
					{ name: 'Production Stream', value: 'production', description: 'The stream as named (an active consumer will process the entries)' },
				],
				default: 'testStream',
				description: 'Where an editor test run (Execute step, or the workflow run by hand) writes; active workflows always write the stream as named',
			},
		],
	},
];

function messageFor(ctx: IExecuteFunctions, itemIndex: number, item: INodeExecutionData): unknown {
	if (ctx.getNodeParameter('payload', itemIndex) === 'item') return item.json;
	const value = ctx.getNodeParameter('message', itemIndex);
	if (typeof value !== 'string') return value;
	try {
		return JSON.parse(value);
	} catch (error) {
		throw new NodeOperationError(ctx.getNode(), `Message JSON is not valid JSON: ${(error as Error).message}`, {
			itemIndex,
		});
	}
}

function streamFor(ctx: IExecuteFunctions, itemIndex: number): string {
	return requiredText(ctx, 'stream', 'Stream', itemIndex);
}

function trimOptions(ctx: IExecuteFunctions): TrimOptions {
	const options = ctx.getNodeParameter('addOptions', 0, {}) as { maxLen?: number; exactTrim?: boolean };
	return { maxLen: options.maxLen, approximate: !options.exactTrim };
}

type TestRunTarget = 'testStream' | 'nothing' | 'production';

/** Where this run writes: production runs always to the stream as named. */
function testRunTarget(ctx: IExecuteFunctions): TestRunTarget | undefined {
	if (!isTestRun(ctx)) return undefined;
	const options = ctx.getNodeParameter('addOptions', 0, {}) as { testRunsWriteTo?: TestRunTarget };
	return options.testRunsWriteTo ?? 'testStream';
}

/** Entries to write and, for each, the input items it stands for. */
function plan(ctx: IExecuteFunctions, items: INodeExecutionData[], failures: INodeExecutionData[]) {
	const entries: StreamEntry[] = [];
	const sources: number[][] = [];
	if (ctx.getNodeParameter('entryPer', 0) === 'batch') {
		if (items.length) {
			entries.push({ stream: streamFor(ctx, 0), message: items.map((item, i) => messageFor(ctx, i, item)) });
			sources.push(items.map((_, i) => i));
		}
		return { entries, sources };
	}
	items.forEach((item, itemIndex) => {
		try {
			entries.push({ stream: streamFor(ctx, itemIndex), message: messageFor(ctx, itemIndex, item) });
			sources.push([itemIndex]);
		} catch (error) {
			if (!ctx.continueOnFail()) throw new NodeOperationError(ctx.getNode(), error as Error, { itemIndex });
			failures.push(failedItem(ctx, item.json, (error as Error).message, { item: itemIndex }));
		}
	});
	return { entries, sources };
}

export async function executeAdd(
	this: IExecuteFunctions,
	redis: Redis,
	items: INodeExecutionData[],
): Promise<INodeExecutionData[]> {
	const failures: INodeExecutionData[] = [];
	const planned = plan(this, items, failures);
	const { sources } = planned;
	const target = testRunTarget(this);
	const testRun = target ? { testRun: true } : {};
	if (target === 'nothing') {
		const shown = planned.entries.map(({ stream, message }, i) => ({
			json: { stream, message: message as never, written: false, ...testRun },
			pairedItem: sources[i].map((item) => ({ item })),
		}));
		return [...shown, ...failures];
	}
	// A test run writes beside production, as the Lead Trigger's test URL does.
	const entries = target === 'testStream' ? planned.entries.map((e) => ({ ...e, stream: `${e.stream}:test` })) : planned.entries;
	const results = await addEntries(redis, entries, trimOptions(this));
	const out: INodeExecutionData[] = [];
	results.forEach((result, i) => {
		const pairedItem = sources[i].map((item) => ({ item }));
		const { stream, message } = entries[i];
		if (result.ok) {
			out.push({ json: { id: result.id, stream, message: message as never, ...testRun }, pairedItem });
			return;
		}
		const text = `Redis refused the entry for ${stream}: ${result.error.message}`;
		if (!this.continueOnFail()) throw new NodeOperationError(this.getNode(), text, { itemIndex: sources[i][0] });
		out.push(failedItem(this, { stream, message: message as never, ...testRun }, text, pairedItem));
	});
	return [...out, ...failures];
}
