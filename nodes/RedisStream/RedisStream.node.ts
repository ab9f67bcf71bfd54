import type Redis from 'ioredis';
import { type IExecuteFunctions, type INodeExecutionData, type INodeType, type INodeTypeDescription, NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';

import { withSharedRedis } from '../shared/queue';
import { cachedCredentials } from '../common/credentialCache';
import { REDIS_CREDENTIAL, toRedisCredentialData } from '../common/redisCredential';
import { redisCredentialTestMethods } from '../common/redisCredentialTest';
import { executeAcknowledge, acknowledgeProperties } from './operations/acknowledge';
import { addProperties, executeAdd } from './operations/add';
import { addDeadLetterProperties, executeAddDeadLetter } from './operations/addDeadLetter';
import { applyInTestRunsProperty, dlqStreamProperty, groupProperty, streamProperty, testRunNotice } from './operations/common';
import { deadLetterProperties, executeListDeadLetters, executeReplayDeadLetters } from './operations/deadLetters';
import { executeInfo, infoProperties } from './operations/info';

type Operation = (this: IExecuteFunctions, redis: Redis, items: INodeExecutionData[]) => Promise<INodeExecutionData[]>;

const operations: Record<string, Operation> = {
	add: executeAdd,
	addDeadLetter: executeAddDeadLetter,
	acknowledge: executeAcknowledge,
	info: executeInfo,
	listDeadLetters: executeListDeadLetters,
	replayDeadLetters: executeReplayDeadLetters,
};

export class RedisStream implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Redis Stream',
		name: 'redisStream',
		icon: { light: 'file:redisStream.svg', dark: 'file:redisStream.dark.svg' },
		group: ['output'],
		version: 1,
		subtitle: '={{ $parameter["operation"] + ": " + $parameter["stream"] }}',
		description: 'Write to, acknowledge, inspect and replay the Redis streams that queue leads between workflows',
		defaults: { name: 'Redis Stream' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{ name: 'leadPipelineRedis', required: true, testedBy: 'leadPipelineRedisConnectionTest' },
		],
		properties: [
			{
				displayName: 'Operation',
				name: 'operation',
				type: 'options',
				noDataExpression: true,
				options: [
					{
						name: 'Acknowledge',
						value: 'acknowledge',
						description: 'Mark entries of a consumer group as processed (XACK)',
						action: 'Acknowledge entries',
					},
					{
						name: 'Add',
						value: 'add',
						description: 'Append items to a stream (XADD)',
						action: 'Add entries to a stream',
					},
					{
						name: 'Add Dead Letter',
						value: 'addDeadLetter',
						description: 'Write items a workflow gave up on to a dead-letter stream, with the queue they came from, so they can be replayed',
						action: 'Add items to a dead letter stream',
					},
					{
						name: 'Get Queue Info',
						value: 'info',
						description: 'Length, pending, lag, consumers and dead letters, with alert flags',
						action: 'Get queue info',
					},
					{
						name: 'List Dead Letters',
						value: 'listDeadLetters',
						description: 'Read entries of a dead-letter stream with their failure reason',
						action: 'List dead letters',
					},
					{
						name: 'Replay Dead Letters',
						value: 'replayDeadLetters',
						description: 'Move dead letters back to their original stream to be processed again',
						action: 'Replay dead letters',
					},
				],
				default: 'add',
			},
			testRunNotice,
			streamProperty,
			groupProperty,
			dlqStreamProperty,
			applyInTestRunsProperty,
			...addProperties,
			...addDeadLetterProperties,
			...acknowledgeProperties,
			...deadLetterProperties,
			...infoProperties,
		],
	};

	methods = { credentialTest: redisCredentialTestMethods };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const operation = operations[this.getNodeParameter('operation', 0) as string];
		if (!operation) throw new NodeOperationError(this.getNode(), `Unknown operation "${this.getNodeParameter('operation', 0)}"`);
		const credential = toRedisCredentialData(await cachedCredentials(this, REDIS_CREDENTIAL));
		try {
			return [await withSharedRedis(credential, async (redis) => await operation.call(this, redis, items))];
		} catch (error) {
			// A NodeOperationError from the operation passes through unchanged.
			throw new NodeOperationError(this.getNode(), error as Error);
		}
	}
}
