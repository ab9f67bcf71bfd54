import type { IDataObject, INodeExecutionData, IWebhookResponseData } from 'n8n-workflow';

import type { RejectedEntry } from '../shared/intake';
import type { Lead } from '../shared/lead';
import { OVERLOAD_RETRY_AFTER_SECONDS } from './overload';
import { respond, type WebhookResponse } from './http';
import type { Settings } from './settings';

/** What the trigger answers: the HTTP responses that store nothing, and the workflow's items. */

/** Seconds a sender should wait before retrying a 503 (Redis away or stalled). */
export const RETRY_AFTER_SECONDS = 5;

export const unavailable = (res: WebhookResponse) => {
	res.setHeader('retry-after', String(RETRY_AFTER_SECONDS));
	respond(res, 503, {
		error: 'The lead store is unavailable: nothing was stored, please retry',
		description: 'Retry with backoff. If it persists, the n8n owner should press Test on the Lead Pipeline Redis credential and check that Redis is running.',
	});
};

// The sender retries a 503, so a rejection the capped stream refused is not lost; the owner reads
// the warning (logged) and makes room by replaying or deleting entries, or raises the cap.
export const rejectedStreamFull = (res: WebhookResponse) =>
	respond(res, 503, {
		error: 'This lead endpoint cannot keep more rejected submissions right now: nothing was stored, please retry later',
		description: 'The n8n owner should review the Lead Trigger\'s rejected stream (delete or replay entries) or raise its Rejected Stream Cap option.',
	});

// Shed before the body is parsed or Redis is asked: the cheapest answer an overloaded process can give.
export const overloaded = (res: WebhookResponse) => {
	res.setHeader('retry-after', String(OVERLOAD_RETRY_AFTER_SECONDS));
	respond(res, 503, {
		error: 'This lead endpoint is overloaded: nothing was stored, please retry',
		description: `Retry after the Retry-After header's seconds, with backoff and the same Idempotency-Key. If it persists, the n8n owner should add capacity or raise the Lead Trigger's Max Requests In Flight / Shed at Event Loop Delay options.`,
	});
};

export const IMPORT_NEEDS_AUTH =
	'Bulk import and import status need the trigger\'s Authentication: set Authentication to Shared Secret Header or HMAC-SHA256 on the Lead Trigger (with a Lead Pipeline Form Secret API credential) so only you can import';

export function executionData(s: Settings, leads: Lead[], rejected: RejectedEntry[], events: unknown[]): IWebhookResponseData {
	const emitEvents = s.emitEvents ? events : [];
	// Enqueue Only leaves leads and rejected entries in their streams, but delivery statuses are
	// kept nowhere else: they still start an execution, on the Events output alone.
	const emitLeads = s.enqueueOnly ? [] : leads;
	const emitRejected = s.enqueueOnly ? [] : rejected;
	if (emitLeads.length + emitRejected.length + emitEvents.length === 0) return { noWebhookResponse: true };
	const items = (values: IDataObject[]): INodeExecutionData[] => values.map((json) => ({ json }));
	// Leads and rejected entries are plain JSON, but their `raw` (the payload received) is typed
	// `unknown`, which no IDataObject value type admits: so these casts cannot be typed away.
	return {
		noWebhookResponse: true,
		workflowData: [
			items(emitLeads as unknown as IDataObject[]),
			items(emitRejected as unknown as IDataObject[]),
			items(emitEvents as IDataObject[]),
		],
	};
}
