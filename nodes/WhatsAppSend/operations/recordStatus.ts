import { type IDataObject, type IExecuteFunctions, type INodeExecutionData, NodeOperationError } from 'n8n-workflow';

import { whatsAppClock, describeStatusError, type KeptStatus, type MessageLog, type MessageStatus, type StatusUpdate } from '../../shared/whatsapp';
import { metricsScope, recordMetrics } from '../../common/metricsOptions';
import { COUNTER, type DecisionEvent } from '../../shared/metrics';
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

const recipientOf = (status: IDataObject) => (typeof status.recipient_id === 'string' && /^\d+$/.test(status.recipient_id) ? status.recipient_id : undefined);

/**
 * A status for a wamid the log does not know is kept (a late log write or a replay applies it),
 * then tried against the recipient's sends whose outcome is unknown: a one-to-one pair settles
 * that send as this wamid. Otherwise it stays kept; `ambiguous` says a person must decide.
 */
type KeptUpdate = StatusUpdate & { kept?: boolean; ambiguous?: number; settledUnknown?: boolean; unknownLogId?: string };

async function keepOrSettle(log: MessageLog, kept: KeptStatus & { status: MessageStatus }): Promise<KeptUpdate> {
	const clock = whatsAppClock();
	await log.keepStatus(kept, clock.now());
	if (!kept.recipient) return { result: 'missing', kept: true };
	const match = await log.matchUnknown(kept.recipient);
	if ('ambiguous' in match) return { result: 'missing', kept: true, ambiguous: match.ambiguous };
	if (!('settle' in match)) return { result: 'missing', kept: true };
	const settled = await log.settleUnknown(match.settle.logId, match.settle.wamid, clock.now());
	if (!settled) return { result: 'missing', kept: true };
	// The kept statuses applied in order; this item reports its own.
	const own = settled.applied.find((a) => a.status === kept.status)?.update;
	if (!own || own.result === 'missing') return { result: 'missing', kept: true };
	return { ...own, settledUnknown: true, unknownLogId: match.settle.logId };
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
				let recorded: KeptUpdate = await store.log.updateStatus(wamid, mapped, at, failure);
				if (recorded.result === 'missing') recorded = await keepOrSettle(store.log, { wamid, status: mapped, atMs: at, recipient: recipientOf(status), error: failure });
				// Sends are counted by Send; delivered / read / failed when the status moved the message.
				const outcome = STATUS_OUTCOME[mapped];
				if (recorded.result === 'applied' && outcome && recorded.traceId) {
					// A read receipt that arrives first also says the message was delivered.
					if (mapped === 'READ' && recorded.previous !== 'DELIVERED') events.push({ traceId: recorded.traceId, counter: COUNTER.whatsapp, labels: { outcome: 'delivered' } });
					events.push({ traceId: recorded.traceId, counter: COUNTER.whatsapp, labels: { outcome } });
				}
				update = recorded;
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
