import type Redis from 'ioredis';
import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { listDeadLetters, planReplay, replayDeadLetters } from '../../shared/queue';
import { idList, isTestRun, perItem, requiredText } from './common';

export const deadLetterProperties: INodeProperties[] = [
	{
		displayName: 'Limit',
		name: 'limit',
		type: 'number',
		typeOptions: { minValue: 1 },
		default: 50,
		description: 'Max number of results to return',
		displayOptions: { show: { operation: ['listDeadLetters', 'replayDeadLetters'] } },
	},
	{
		displayName: 'Only These IDs',
		name: 'replayIds',
		type: 'string',
		default: '',
		placeholder: '1700000000000-0, 1700000000001-0',
		description: 'Dead-letter entry IDs to replay (comma-separated or an array); empty = the oldest entries up to Limit',
		displayOptions: { show: { operation: ['replayDeadLetters'] } },
	},
];

export async function executeListDeadLetters(
	this: IExecuteFunctions,
	redis: Redis,
	items: INodeExecutionData[],
): Promise<INodeExecutionData[]> {
	return await perItem(items, async (itemIndex) => {
		const dlqStream = requiredText(this, 'dlqStream', 'Dead-Letter Stream', itemIndex);
		const count = this.getNodeParameter('limit', itemIndex, 50) as number;
		const letters = await listDeadLetters(redis, dlqStream, { count });
		return letters.map((letter) => ({ dlqStream, ...letter }) as IDataObject);
	});
}

export async function executeReplayDeadLetters(
	this: IExecuteFunctions,
	redis: Redis,
	items: INodeExecutionData[],
): Promise<INodeExecutionData[]> {
	const testRun = isTestRun(this);
	return await perItem(items, async (itemIndex) => {
		const dlqStream = requiredText(this, 'dlqStream', 'Dead-Letter Stream', itemIndex);
		const limit = this.getNodeParameter('limit', itemIndex, 50) as number;
		const ids = idList(this.getNodeParameter('replayIds', itemIndex, ''));
		if (testRun && !(this.getNodeParameter('applyInTestRuns', itemIndex, false) as boolean)) {
			const plans = await planReplay(redis, dlqStream, { ids, limit });
			return plans.map((plan) => ({ dlqStream, ...plan, testRun }) as IDataObject);
		}
		const results = await replayDeadLetters(redis, dlqStream, { ids, limit });
		return results.map((result) => ({ dlqStream, ...result, ...(testRun ? { testRun } : {}) }));
	});
}
