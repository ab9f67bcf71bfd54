import type Redis from 'ioredis';
import { type IDataObject, type IExecuteFunctions, type INodeExecutionData, type INodeProperties, NodeOperationError } from 'n8n-workflow';

import { addDeadLettersWithinCap, DEFAULT_DLQ_CAP, DLQ_WARN_RATIO, type DeadLetterRecord } from '../../shared/queue';
import { failedItem } from '../../common/failedItem';
import { isTestRun, requiredText } from './common';

const show = { show: { operation: ['addDeadLetter'] } };

export const addDeadLetterProperties: INodeProperties[] = [
	{
		displayName: 'Original Queue',
		name: 'originalQueue',
		type: 'string',
		default: '={{ $json.stream }}',
		required: true,
		description: 'The stream the item came from: Replay Dead Letters puts it back there. A consumer trigger\'s items carry it as "stream".',
		displayOptions: show,
	},
	{
		displayName: 'Message to Replay',
		name: 'replayMessage',
		type: 'json',
		default: '={{ $json.message }}',
		description: 'What a replay adds to the original queue: the queue\'s own message (a consumer trigger\'s items carry it as "message")',
		displayOptions: show,
	},
	{
		displayName: 'Dead-Letter Message',
		name: 'deadLetterMessage',
		type: 'json',
		default: '',
		description: 'What the dead letter\'s "message" field shows (e.g. an account of the failure with the whole item); empty = the Message to Replay. Replay always puts back the Message to Replay.',
		displayOptions: show,
	},
	{
		displayName: 'Original ID',
		name: 'originalId',
		type: 'string',
		default: '={{ $json.id }}',
		description: 'The entry ID the item had in the original queue',
		displayOptions: show,
	},
	{
		displayName: 'Failed In',
		name: 'failedIn',
		type: 'string',
		default: '={{ $workflow.name }}',
		description: 'Who gave up on the item (stored as the dead letter\'s "group")',
		displayOptions: show,
	},
	{
		displayName: 'Error',
		name: 'lastError',
		type: 'string',
		default: '={{ $json.error }}',
		description: 'Why it failed (stored as "lastError")',
		displayOptions: show,
	},
	{
		displayName: 'Retry Count',
		name: 'retryCount',
		type: 'number',
		default: 0,
		description: 'How often it was retried before it was given up; for a consumer trigger\'s item use its deliveryCount minus 1',
		displayOptions: show,
	},
	{
		displayName: 'Options',
		name: 'deadLetterOptions',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		displayOptions: show,
		options: [
			{
				displayName: 'Dead-Letter Cap',
				name: 'dlqMaxLen',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: DEFAULT_DLQ_CAP,
				description: `Most dead letters the stream may hold (0 = no cap). Never trimmed: from ${DLQ_WARN_RATIO * 100}% of the cap the output says dlqNearCap and the n8n log warns; at the cap the item fails (error output, or the execution fails and the consumer retries it) until dead letters are replayed or deleted.`,
			},
		],
	},
];

function jsonValue(value: unknown): unknown {
	if (typeof value !== 'string') return value;
	try {
		return JSON.parse(value);
	} catch {
		return value;
	}
}

function letterFor(ctx: IExecuteFunctions, item: INodeExecutionData, i: number, testRun: boolean): DeadLetterRecord {
	const suffix = testRun ? ':test' : '';
	// No message on the item (not from a consumer trigger): the item itself is what can be replayed.
	const replayMessage = jsonValue(ctx.getNodeParameter('replayMessage', i, null)) ?? item.json;
	const shown = ctx.getNodeParameter('deadLetterMessage', i, '');
	const message = shown === '' || shown === undefined || shown === null ? replayMessage : jsonValue(shown);
	return {
		message,
		...(message === replayMessage ? {} : { replayMessage }),
		originalQueue: `${requiredText(ctx, 'originalQueue', 'Original Queue', i)}${suffix}`,
		originalId: String(ctx.getNodeParameter('originalId', i, '') ?? ''),
		group: String(ctx.getNodeParameter('failedIn', i, '') ?? ''),
		failedAt: new Date().toISOString(),
		retryCount: Math.max(0, Number(ctx.getNodeParameter('retryCount', i, 0)) || 0),
		lastError: String(ctx.getNodeParameter('lastError', i, '') ?? ''),
	};
}

/**
 * Writes each item as a dead letter in the shape every DLQ of the pack has, with the queue it came
 * from, so Replay Dead Letters can put it back. Capped: refused at the cap, never trimmed.
 */
export async function executeAddDeadLetter(this: IExecuteFunctions, redis: Redis, items: INodeExecutionData[]): Promise<INodeExecutionData[]> {
	const testRun = isTestRun(this);
	// An editor test run writes beside production, as Add does: nothing a replay would pick up.
	const dlqStream = `${requiredText(this, 'dlqStream', 'Dead-Letter Stream', 0)}${testRun ? ':test' : ''}`;
	const cap = Number((this.getNodeParameter('deadLetterOptions', 0, {}) as { dlqMaxLen?: number }).dlqMaxLen ?? DEFAULT_DLQ_CAP);
	const letters = items.map((item, i) => letterFor(this, item, i, testRun));
	const write = await addDeadLettersWithinCap(redis, dlqStream, letters, cap);
	const marker = testRun ? { testRun: true } : {};
	if (write.nearCap) {
		this.logger.warn(`Dead-letter stream ${dlqStream} holds ${write.length} of its cap of ${cap}: replay or delete dead letters before it refuses new ones`, {
			dlqStream, length: write.length, cap,
		});
	}
	return write.results.map((result, i): INodeExecutionData => {
		const pairedItem = { item: i };
		const json: IDataObject = { dlqStream, originalQueue: letters[i].originalQueue, originalId: letters[i].originalId, ...marker };
		if (result.ok) return { json: { ...json, id: result.id, dlqLength: write.length, dlqCap: cap, dlqNearCap: write.nearCap }, pairedItem };
		const text = 'atCap' in result
			? `Dead-letter stream ${dlqStream} holds its cap of ${cap} entries: the item was not written`
			: `Redis refused the dead letter for ${dlqStream}: ${result.error.message}`;
		const description = 'atCap' in result
			? 'Replay or delete dead letters (Redis Stream → List / Replay Dead Letters), or raise the Dead-Letter Cap. Nothing is trimmed from a dead-letter stream.'
			: 'Check that the key holds a stream (or is unused) and that the Redis user may write it.';
		if (!this.continueOnFail()) throw new NodeOperationError(this.getNode(), text, { itemIndex: i, description });
		return failedItem(this, items[i].json, text, pairedItem);
	});
}
