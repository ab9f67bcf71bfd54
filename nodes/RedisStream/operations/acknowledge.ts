import type Redis from 'ioredis';
import type { IExecuteFunctions, INodeExecutionData, INodeProperties } from 'n8n-workflow';

import { pendingAmong, acknowledgeEach } from '../../shared/queue';
import { idList, isTestRun, perItem, requiredText } from './common';

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
	const testRun = isTestRun(this);
	return await perItem(items, async (itemIndex) => {
		const stream = requiredText(this, 'stream', 'Stream', itemIndex);
		const group = requiredText(this, 'group', 'Consumer Group', itemIndex);
		const ids = idList(this.getNodeParameter('ids', itemIndex));
		if (testRun && !(this.getNodeParameter('applyInTestRuns', itemIndex, false) as boolean)) {
			// An editor run must not ack a batch the active workflow may still be running: report only.
			const plans = await pendingAmong(redis, stream, group, ids);
			return plans.map((plan) => ({ stream, group, id: plan.id, acknowledged: false, wouldAcknowledge: plan.wouldAcknowledge, ...(plan.error ? { error: plan.error } : {}), testRun }));
		}
		const results = await acknowledgeEach(redis, stream, group, ids);
		return results.map((result) => ({ stream, group, ...result, ...(testRun ? { testRun } : {}) }));
	});
}
