import type { IDataObject, IExecuteFunctions, INodeExecutionData } from 'n8n-workflow';
import { NodeOperationError } from 'n8n-workflow';

import { whatsAppClock } from '../../shared/whatsapp/clock';
import { describeStatusError } from '../../shared/whatsapp/graphErrors';
import type { MessageStatus } from '../../shared/whatsapp/messageLog';
import { metricsScope, recordMetrics } from '../../common/metricsOptions';
import { COUNTER, type DecisionEvent } from '../../shared/metrics/counters';
import { openWhatsAppStore } from '../context';
import { failedItem } from '../../common/failedItem';

// Meta's statuses[].status values and where they move the message.
const META_STATUS: Record<string, MessageStatus> = { sent: 'SENT', delivered: 'DELIVERED', read: 'READ', failed: 'FAILED' };

const STATUS_OUTCOME: Partial<Record<MessageStatus, 'delivered' | 'read' | 'failed'>> = { DELIVERED: 'delivered', READ: 'read', FAILED: 'failed' };

/** The status object of an item: the Lead Trigger's Events item, or a raw Meta statuses[] entry under `status`. */
function statusOf(json: IDataObject): IDataObject | undefined {
	if (typeof json.status === 'string' && typeof json.id === 'string') return json;
	const nested = json.statuses ?? json.statusEvent;
	return typeof nested === 'object' && nested && !Array.isArray(nested) ? (nested as IDataObject) : undefined;
}

/** Record Status: moves logged messages forward with Meta's delivery statuses; idempotent, never backwards. */
export async function executeRecordStatus(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const out: INodeExecutionData[] = [];
	// Editor test runs read the log but never change it.
	const dryRun = this.getMode() === 'manual';
	const store = await openWhatsAppStore(this);
	const events: DecisionEvent[] = [];
	try {
		for (let i = 0; i < items.length; i++) {
			const json = items[i].json;
			const pairedItem = { item: i };
			if (json.kind !== undefined && json.kind !== 'status') {
				out.push({ json: { ...json, statusUpdate: { result: 'ignored', reason: `not a delivery status (kind ${String(json.kind)})` } }, pairedItem });
				continue;
			}
			const status = statusOf(json);
			const wamid = typeof status?.id === 'string' ? status.id : undefined;
			const mapped = META_STATUS[String(status?.status ?? '')];
			if (!status || !wamid || !mapped) {
				const problem = !status || !wamid ? 'has no message id (id)' : `has status "${String(status.status)}", not sent/delivered/read/failed`;
				const error = new NodeOperationError(this.getNode(), `Item ${i} ${problem}`, { itemIndex: i, description: "Connect the Lead Trigger's Events output (Meta statuses[] items) to Record Status." });
				if (!this.continueOnFail()) throw error;
				out.push(failedItem(this, json, error.message, pairedItem));
				continue;
			}
			const seconds = Number(status.timestamp);
			const at = Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : whatsAppClock().now();
			const errors = Array.isArray(status.errors) ? (status.errors as IDataObject[]) : [];
			const failure = mapped === 'FAILED' ? describeStatusError(errors[0] as Parameters<typeof describeStatusError>[0]) : undefined;
			let update;
			if (dryRun) {
				const record = await store.log.get(wamid);
				update = record ? { result: 'testRun', current: record.status, traceId: record.traceId } : { result: 'missing' };
			} else {
				update = await store.log.updateStatus(wamid, mapped, at, failure);
				// Sends are counted by Send; delivered / read / failed when the status moved the message.
				const outcome = STATUS_OUTCOME[mapped];
				if (update.result === 'applied' && outcome && update.traceId) {
					// A read receipt that arrives first also says the message was delivered.
					if (mapped === 'READ' && update.previous !== 'DELIVERED') events.push({ traceId: update.traceId, counter: COUNTER.whatsapp, labels: { outcome: 'delivered' } });
					events.push({ traceId: update.traceId, counter: COUNTER.whatsapp, labels: { outcome } });
				}
			}
			out.push({
				json: {
					...json,
					statusUpdate: { wamid, status: mapped, ...update, ...(failure ? { reason: failure.reason, errorCode: failure.code } : {}) } as IDataObject,
				},
				pairedItem,
			});
		}
	} finally {
		const options = this.getNodeParameter('options', 0, {}) as IDataObject;
		await recordMetrics(this.logger, store.redis, metricsScope(this.getMode(), options, store), events);
		await store.close();
	}
	return [out];
}
