import type Redis from 'ioredis';
import type { IDataObject, IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { queueInfo, type Thresholds } from '../../shared/queue';
import { perItem, requiredText } from './common';

const show = { show: { operation: ['info'] } };

export const infoProperties: INodeProperties[] = [
	{
		displayName: 'Dead-Letter Stream',
		name: 'infoDlqStream',
		type: 'string',
		default: '',
		placeholder: 'DLQFilterQueueNewOpportunityProcessor',
		description: 'Empty = DLQ + stream + group, as the consumer names it',
		displayOptions: show,
	},
	{
		displayName: 'Dead-Letter Cap',
		name: 'infoDlqCap',
		type: 'number',
		typeOptions: { minValue: 0 },
		default: 0,
		description: 'The Dead-Letter Cap set on the consumer (0 = none): flags dlqNearCap from 80% of it, before entries start staying pending',
		displayOptions: show,
	},
	{
		displayName: 'Alert Thresholds',
		name: 'thresholds',
		type: 'collection',
		placeholder: 'Add Threshold',
		default: {},
		displayOptions: show,
		options: [
			{
				displayName: 'Queue Length Above',
				name: 'queueLength',
				type: 'number',
				default: 1000,
				description: 'Flag a backlog when entries not yet processed (lag + pending) exceed this',
			},
			{
				displayName: 'Dead Letters Above',
				name: 'dlqSize',
				type: 'number',
				default: 50,
			},
			{
				displayName: 'Pending Above',
				name: 'pending',
				type: 'number',
				default: 100,
				description: 'Flag when more entries than this are delivered but not acknowledged',
			},
		],
	},
];

export async function executeInfo(
	this: IExecuteFunctions,
	redis: Redis,
	items: INodeExecutionData[],
): Promise<INodeExecutionData[]> {
	return await perItem(items, async (itemIndex) => {
		const info = await queueInfo(redis, {
			stream: requiredText(this, 'stream', 'Stream', itemIndex),
			group: requiredText(this, 'group', 'Consumer Group', itemIndex),
			dlqStream: String(this.getNodeParameter('infoDlqStream', itemIndex, '')).trim(),
			dlqCap: Number(this.getNodeParameter('infoDlqCap', itemIndex, 0)),
			thresholds: this.getNodeParameter('thresholds', itemIndex, {}) as Partial<Thresholds>,
		});
		// An interface has no index signature, so TypeScript will not take it as IDataObject; it is plain JSON.
		return [info as unknown as IDataObject];
	});
}
