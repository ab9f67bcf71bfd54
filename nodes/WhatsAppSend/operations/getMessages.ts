import { type IExecuteFunctions, type INodeExecutionData, NodeOperationError } from 'n8n-workflow';

import { openWhatsAppStore } from '../context';
import { failedItem } from '../../common/failedItem';

/** Get Message History: a lead's logged messages (oldest first), or one message by id. */
export async function executeGetMessages(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const out: INodeExecutionData[] = [];
	const store = await openWhatsAppStore(this);
	try {
		for (let i = 0; i < items.length; i++) {
			const byTrace = this.getNodeParameter('lookUpBy', i) === 'traceId';
			const key = String(this.getNodeParameter(byTrace ? 'lookupTraceId' : 'lookupMessageId', i, '') ?? '').trim();
			if (!key) {
				const error = new NodeOperationError(this.getNode(), `Item ${i}: ${byTrace ? 'Trace ID' : 'Message ID'} is empty`, { itemIndex: i });
				if (!this.continueOnFail()) throw error;
				out.push(failedItem(this, items[i].json, error.message, { item: i }));
				continue;
			}
			if (byTrace) {
				const messages = await store.log.history(key);
				out.push({ json: { traceId: key, count: messages.length, messages }, pairedItem: { item: i } });
			} else {
				const message = await store.log.get(key);
				out.push({ json: { messageId: key, found: Boolean(message), ...(message ? { message } : {}) }, pairedItem: { item: i } });
			}
		}
	} finally {
		await store.close();
	}
	return [out];
}
