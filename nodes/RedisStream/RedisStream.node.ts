import type {
	IExecuteFunctions,
	INodeExecutionData,
	INodeType,
	INodeTypeDescription,
} from 'n8n-workflow';
import { NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';

import { RedisConnectionError, withRedis } from '../shared/redis';
import {
	REDIS_CREDENTIAL,
	redisCredentialTestMethods,
	toRedisCredentialData,
} from '../shared/redisCredential';
import { addProperties, executeAdd } from './operations/add';

export class RedisStream implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Redis Stream',
		name: 'redisStream',
		icon: { light: 'file:redisStream.svg', dark: 'file:redisStream.dark.svg' },
		group: ['output'],
		version: 1,
		subtitle: '={{ $parameter["operation"] + ": " + $parameter["stream"] }}',
		description: 'Write to and manage the Redis streams that queue leads between workflows',
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
						name: 'Add',
						value: 'add',
						description: 'Append items to a stream (XADD)',
						action: 'Add entries to a stream',
					},
				],
				default: 'add',
			},
			...addProperties,
		],
	};

	methods = { credentialTest: redisCredentialTestMethods };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const credential = toRedisCredentialData(await this.getCredentials(REDIS_CREDENTIAL));
		try {
			return [await withRedis(credential, async (redis) => await executeAdd.call(this, redis, items))];
		} catch (error) {
			if (error instanceof RedisConnectionError) {
				throw new NodeOperationError(this.getNode(), 'Could not connect to Redis', { description: error.detail });
			}
			// A NodeOperationError from the operation passes through unchanged.
			throw new NodeOperationError(this.getNode(), error as Error);
		}
	}
}
