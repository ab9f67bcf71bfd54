import { hostname } from 'node:os';

import type { INodeProperties, ITriggerFunctions } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import type { AckMode, ConsumerOptions } from '../shared/streamConsumer';
import { dlqStreamName, MIN_CLAIM_TIMEOUT_MS } from '../shared/streamGroup';

export const consumerProperties: INodeProperties[] = [
	{
		displayName:
			'Test runs ("Listen" / "Execute step") only peek: they show the next entries the group has not received yet, marked testRun, and never read as a consumer, acknowledge, claim or dead-letter anything. Activate the workflow to consume.',
		name: 'testRunNotice',
		type: 'notice',
		default: '',
	},
	{
		displayName: 'Stream',
		name: 'stream',
		type: 'string',
		default: 'filterQueue',
		required: true,
	},
	{
		displayName: 'Consumer Group',
		name: 'group',
		type: 'string',
		default: 'newOpportunityProcessor',
		required: true,
		description: 'Consumers in one group share the stream: each entry goes to one of them',
	},
	{
		displayName: 'Batch Size',
		name: 'batchSize',
		type: 'number',
		typeOptions: { minValue: 1, maxValue: 1000 },
		default: 10,
		description: 'Entries per execution (each becomes one item)',
	},
	{
		displayName: 'Parallel Executions',
		name: 'concurrency',
		type: 'number',
		typeOptions: { minValue: 1, maxValue: 100 },
		default: 1,
		description:
			'Executions in flight at once. The next batch is read only when one finishes, so a backlog waits in Redis.',
	},
	{
		displayName: 'Acknowledge',
		name: 'ackMode',
		type: 'options',
		options: [
			{
				name: 'When the Execution Succeeds',
				value: 'executionSucceeds',
				description: 'A failed execution leaves its entries pending: they are retried, then dead-lettered',
			},
			{
				name: 'When the Execution Finishes',
				value: 'executionFinishes',
				description: 'Acknowledge after the run whether it succeeded or failed',
			},
			{
				name: 'Immediately',
				value: 'immediately',
				description: 'Acknowledge before the execution starts (at most once: a crash loses the batch)',
			},
		],
		default: 'executionSucceeds',
	},
	{
		displayName: 'Options',
		name: 'options',
		type: 'collection',
		placeholder: 'Add Option',
		default: {},
		options: [
			{
				displayName: 'Block (Ms)',
				name: 'blockMs',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 2000,
				description: 'How long one read waits for new entries before checking for stale ones again',
			},
			{
				displayName: 'Claim Timeout (Ms)',
				name: 'claimTimeoutMs',
				type: 'number',
				typeOptions: { minValue: 3000 },
				default: 10000,
				description:
					'An entry pending this long without a heartbeat (its consumer died) is taken over by another consumer. At least 3000: the running consumer renews its entries every third of this.',
			},
			{
				displayName: 'Consumer Name',
				name: 'consumer',
				type: 'string',
				default: '',
				placeholder: 'host-1234',
				description: 'Unique per running instance; empty = host name and process ID',
			},
			{
				displayName: 'Dead-Letter Cap',
				name: 'dlqMaxLen',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 0,
				description:
					'Most dead letters the DLQ stream may hold (0 = no cap). Dead letters are never trimmed: at the cap, entries that exhausted their retries stay pending in the stream (with a warning in the n8n log) until dead letters are replayed or deleted.',
			},
			{
				displayName: 'Dead-Letter Stream',
				name: 'dlqStream',
				type: 'string',
				default: '',
				placeholder: 'DLQFilterQueueNewOpportunityProcessor',
				description: 'Where entries go after Max Retries deliveries; empty = DLQ + stream + group',
			},
			{
				displayName: 'Executions That Wait',
				name: 'waitingMode',
				type: 'options',
				options: [
					{
						name: 'Acknowledge When They Start Waiting',
						value: 'acknowledge',
						description:
							'The waiting execution is saved in the n8n database and finishes there: the entries are handed over. A failure after the Wait node does not retry them.',
					},
					{
						name: 'Leave Pending',
						value: 'leavePending',
						description:
							'Leave the entries pending: they are delivered again after the Claim Timeout and dead-lettered after Max Retries. Only for workflows safe to run again.',
					},
				],
				default: 'acknowledge',
				description:
					'What to do with a batch whose execution pauses at a Wait node (the trigger is never told how a waiting execution ends)',
			},
			{
				displayName: 'Max Execution Time (Ms)',
				name: 'maxExecutionMs',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 3600000,
				description:
					'How long to wait for an execution to report back (0 = no limit). After it the outcome counts as unknown: the entries stay pending, are retried after the Claim Timeout, and the next batch can start.',
			},
			{
				displayName: 'Max Retries',
				name: 'maxRetries',
				type: 'number',
				typeOptions: { minValue: 1 },
				default: 5,
				description: 'Deliveries an entry gets before it moves to the dead-letter stream',
			},
			{
				displayName: 'Parse JSON Message',
				name: 'parseJson',
				type: 'boolean',
				default: true,
				description:
					'Whether to parse the "message" field as JSON (entries that are not JSON are retried, then dead-lettered with the parse error). Off: the item carries all fields as text.',
			},
			{
				displayName: 'Start From (New Group)',
				name: 'startId',
				type: 'options',
				options: [
					{ name: 'New Entries Only', value: '$' },
					{ name: 'All Entries in the Stream', value: '0' },
				],
				default: '$',
				description: 'Where a group that does not exist yet starts reading; an existing group keeps its position',
			},
			{
				displayName: 'Stop Timeout (Ms)',
				name: 'stopTimeoutMs',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 30000,
				description: 'On deactivation, how long to wait for executions in flight so their entries get acknowledged',
			},
		],
	},
];

interface RawOptions {
	blockMs?: number;
	dlqMaxLen?: number;
	maxExecutionMs?: number;
	waitingMode?: string;
	claimTimeoutMs?: number;
	consumer?: string;
	dlqStream?: string;
	maxRetries?: number;
	parseJson?: boolean;
	startId?: string;
	stopTimeoutMs?: number;
}

function wholeNumber(ctx: ITriggerFunctions, name: string, value: unknown, min: number, max: number): number {
	const n = Number(value);
	if (!Number.isInteger(n) || n < min || n > max) {
		throw new NodeOperationError(ctx.getNode(), `${name} must be a whole number from ${min} to ${max} (got ${String(value)})`);
	}
	return n;
}

function text(ctx: ITriggerFunctions, name: string, value: unknown): string {
	const s = String(value ?? '').trim();
	if (!s) throw new NodeOperationError(ctx.getNode(), `${name} is empty`);
	return s;
}

function claimTimeout(ctx: ITriggerFunctions, value: unknown): number {
	const n = Number(value);
	if (Number.isInteger(n) && n < MIN_CLAIM_TIMEOUT_MS && n >= 0) {
		throw new NodeOperationError(ctx.getNode(), `Claim Timeout (Ms) must be at least ${MIN_CLAIM_TIMEOUT_MS} (got ${n})`, {
			description: `The running consumer renews its entries every third of the claim timeout; below ${MIN_CLAIM_TIMEOUT_MS} ms a slow but healthy batch loses its entries to another consumer and is processed twice. Set 3000 or more.`,
		});
	}
	return wholeNumber(ctx, 'Claim Timeout (Ms)', n, MIN_CLAIM_TIMEOUT_MS, 86_400_000);
}

export function readConsumerOptions(ctx: ITriggerFunctions): ConsumerOptions & { stopTimeoutMs: number } {
	const o = ctx.getNodeParameter('options', {}) as RawOptions;
	const stream = text(ctx, 'Stream', ctx.getNodeParameter('stream'));
	const group = text(ctx, 'Consumer Group', ctx.getNodeParameter('group'));
	return {
		stream,
		group,
		consumer: o.consumer?.trim() || `${hostname()}-${process.pid}`,
		startId: o.startId === '0' ? '0' : '$',
		batchSize: wholeNumber(ctx, 'Batch Size', ctx.getNodeParameter('batchSize', 10), 1, 1000),
		concurrency: wholeNumber(ctx, 'Parallel Executions', ctx.getNodeParameter('concurrency', 1), 1, 100),
		ackMode: ctx.getNodeParameter('ackMode', 'executionSucceeds') as AckMode,
		blockMs: wholeNumber(ctx, 'Block (Ms)', o.blockMs ?? 2000, 1, 600_000),
		maxRetries: wholeNumber(ctx, 'Max Retries', o.maxRetries ?? 5, 1, 1000),
		claimTimeoutMs: claimTimeout(ctx, o.claimTimeoutMs ?? 10_000),
		dlqStream: o.dlqStream?.trim() || dlqStreamName(stream, group),
		dlqMaxLen: wholeNumber(ctx, 'Dead-Letter Cap', o.dlqMaxLen ?? 0, 0, 100_000_000),
		parseJson: o.parseJson !== false,
		waitingMode: o.waitingMode === 'leavePending' ? 'leavePending' : 'acknowledge',
		maxExecutionMs: wholeNumber(ctx, 'Max Execution Time (Ms)', o.maxExecutionMs ?? 3_600_000, 0, 604_800_000),
		stopTimeoutMs: wholeNumber(ctx, 'Stop Timeout (Ms)', o.stopTimeoutMs ?? 30_000, 0, 3_600_000),
	};
}
