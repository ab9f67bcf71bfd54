import type Redis from 'ioredis';
import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { acknowledgeEach } from '../../shared/streams';
import { idList, perItem, requiredText } from './common';

export const acknowledgeProperties: INodeProperties[] = [
	{
		displayName: 'Entry IDs',
		name: 'ids',
		type: 'string',
		default: '={{ $json.id }}',
		required: true,
		description: 'IDs to acknowledge (XACK), comma-separated or an array; by default the ID of each consumed item',
		displayOptions: { show: { operation: ['acknowledge'] } },
	},
];

export async function executeAcknowledge(
	this: IExecuteFunctions,
	redis: Redis,
	items: INodeExecutionData[],
): Promise<INodeExecutionData[]> {
	return await perItem(items, async (itemIndex) => {
		const stream = requiredText(this, 'stream', 'Stream', itemIndex);
		const group = requiredText(this, 'group', 'Consumer Group', itemIndex);
		const results = await acknowledgeEach(redis, stream, group, idList(this.getNodeParameter('ids', itemIndex)));
		return results.map((result) => ({ stream, group, ...result }));
	});
}
