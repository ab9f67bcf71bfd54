import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';

import { type INodeProperties, type ITriggerFunctions, NodeOperationError } from 'n8n-workflow';

import { withMetricsOptions } from '../common/metricsOptions';
import { DEFAULT_IDLE_CONSUMER_MS, DEFAULT_RELEASE_AFTER_MS, type AckMode, type ConsumerOptions, dlqStreamName, MIN_CLAIM_TIMEOUT_MS } from '../shared/queue';

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
		options: withMetricsOptions([
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
				hint: 'Not a limit on how long an execution may run: while an execution runs, its entries are renewed every third of this and no other consumer takes them. It is how soon the entries of a consumer that died (crash, kill, lost connection) are retried elsewhere.',
			},
			{
				displayName: 'Consumer Name',
				name: 'consumer',
				type: 'string',
				default: '',
				placeholder: 'host-1234',
				description:
					'Prefix of the consumer name; empty = host name and process ID. Each activation adds a random suffix, so a re-activated workflow never reads the entries its previous activation still runs.',
			},
			{
				displayName: 'Dead-Letter Cap',
				name: 'dlqMaxLen',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: 100000,
				description:
					'Most dead letters the DLQ stream may hold (0 = no cap: the DLQ grows until Redis runs out of memory). Dead letters are never trimmed: from 80% of the cap each move warns in the n8n log, and at the cap entries that exhausted their retries stay pending in the stream (with a warning) until dead letters are replayed or deleted.',
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
					'How long an execution may run before its slot goes to the next batch (0 = no limit). Its entries stay held for it (no other consumer runs them) until it reports back or Release Batch After passes; at most Parallel Executions batches can be over time at once.',
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
				displayName: 'Release Batch After (Ms)',
				name: 'releaseAfterMs',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: DEFAULT_RELEASE_AFTER_MS,
				description:
					'From its start, how long a batch whose execution has not reported back keeps its entries. After it the execution counts as lost: its entries are retried after the Claim Timeout, even if it still runs (then a batch may run twice). 0 = at Max Execution Time. At least Max Execution Time otherwise.',
			},
			{
				displayName: 'Remove Idle Consumers After (Ms)',
				name: 'idleConsumerMs',
				type: 'number',
				typeOptions: { minValue: 0 },
				default: DEFAULT_IDLE_CONSUMER_MS,
				description:
					'Consumers of the group that read nothing for this long and hold no entries (left by earlier activations or stopped instances) are deleted, so XINFO CONSUMERS stays readable. One that holds entries is kept: its entries are taken over by the Claim Timeout first. 0 = never.',
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
		]),
	},
];

interface RawOptions {
	blockMs?: number;
	dlqMaxLen?: number;
	maxExecutionMs?: number;
	waitingMode?: string;
	claimTimeoutMs?: number;
	releaseAfterMs?: number;
	idleConsumerMs?: number;
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

/** One name per activation: a re-activation must not re-read, as its own, what the last one still runs. */
function consumerName(given: string | undefined): string {
	const prefix = given?.trim() || `${hostname()}-${process.pid}`;
	return `${prefix}-${randomBytes(3).toString('hex')}`;
}

/** Release Batch After is 0 (at Max Execution Time) or no shorter than Max Execution Time. */
function releaseAfter(ctx: ITriggerFunctions, value: unknown, maxExecutionMs: number): number {
	const n = wholeNumber(ctx, 'Release Batch After (Ms)', value, 0, 604_800_000);
	if (n > 0 && n < maxExecutionMs) {
		throw new NodeOperationError(ctx.getNode(), `Release Batch After (Ms) (${n}) is shorter than Max Execution Time (Ms) (${maxExecutionMs})`, {
			description: 'A batch keeps its entries at least until Max Execution Time. Set Release Batch After to 0 (release at Max Execution Time) or to at least Max Execution Time.',
		});
	}
	return n;
}

export function readConsumerOptions(ctx: ITriggerFunctions): ConsumerOptions & { stopTimeoutMs: number } {
	const o = ctx.getNodeParameter('options', {}) as RawOptions;
	const stream = text(ctx, 'Stream', ctx.getNodeParameter('stream'));
	const group = text(ctx, 'Consumer Group', ctx.getNodeParameter('group'));
	const maxExecutionMs = wholeNumber(ctx, 'Max Execution Time (Ms)', o.maxExecutionMs ?? 3_600_000, 0, 604_800_000);
	return {
		stream,
		group,
		consumer: consumerName(o.consumer),
		startId: o.startId === '0' ? '0' : '$',
		batchSize: wholeNumber(ctx, 'Batch Size', ctx.getNodeParameter('batchSize', 10), 1, 1000),
		concurrency: wholeNumber(ctx, 'Parallel Executions', ctx.getNodeParameter('concurrency', 1), 1, 100),
		ackMode: ctx.getNodeParameter('ackMode', 'executionSucceeds') as AckMode,
		blockMs: wholeNumber(ctx, 'Block (Ms)', o.blockMs ?? 2000, 1, 600_000),
		maxRetries: wholeNumber(ctx, 'Max Retries', o.maxRetries ?? 5, 1, 1000),
		claimTimeoutMs: claimTimeout(ctx, o.claimTimeoutMs ?? 10_000),
		dlqStream: o.dlqStream?.trim() || dlqStreamName(stream, group),
		dlqMaxLen: wholeNumber(ctx, 'Dead-Letter Cap', o.dlqMaxLen ?? 100_000, 0, 100_000_000),
		parseJson: o.parseJson !== false,
		waitingMode: o.waitingMode === 'leavePending' ? 'leavePending' : 'acknowledge',
		maxExecutionMs,
		releaseAfterMs: releaseAfter(ctx, o.releaseAfterMs ?? DEFAULT_RELEASE_AFTER_MS, maxExecutionMs),
		idleConsumerMs: wholeNumber(ctx, 'Remove Idle Consumers After (Ms)', o.idleConsumerMs ?? DEFAULT_IDLE_CONSUMER_MS, 0, 604_800_000),
		stopTimeoutMs: wholeNumber(ctx, 'Stop Timeout (Ms)', o.stopTimeoutMs ?? 30_000, 0, 3_600_000),
	};
}
