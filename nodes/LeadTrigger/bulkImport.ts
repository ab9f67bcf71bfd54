import type { IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';

import { importRowLead, runImport } from '../shared/intake';
import { IMPORT_NEEDS_AUTH } from './answers';
import { respond, type WebhookResponse } from './http';
import { withIntakeRedis } from './keep';
import { countIntake } from './metrics';
import type { Settings } from './settings';

/** A bulk import posted to the website form URL: {importId, leads: [...]}, queued in batches. */

export async function handleBulkImport(ctx: IWebhookFunctions, s: Settings, body: { importId: string; leads: unknown[] }, res: WebhookResponse): Promise<IWebhookResponseData> {
	if (s.authentication === 'none') {
		respond(res, 403, { error: IMPORT_NEEDS_AUTH });
		return { noWebhookResponse: true };
	}
	if (!s.durable) {
		respond(res, 400, { error: 'Bulk import needs Durable Accept (a Redis credential) to queue the leads and keep progress' });
		return { noWebhookResponse: true };
	}
	if (body.leads.length > s.importMaxRows) {
		respond(res, 413, {
			error: `An import may hold at most ${s.importMaxRows} leads (option Import Max Rows); this one has ${body.leads.length}. Split it into imports of at most ${s.importMaxRows}, each under its own importId`,
		});
		return { noWebhookResponse: true };
	}
	const receivedAt = new Date().toISOString();
	const rows = { importId: body.importId, formFields: s.formFields, raw: s.raw, defaultCountry: s.defaultCountry, testRun: s.testRun, receivedAt };
	const toLead = (row: unknown, index: number) => importRowLead(row, index, rows);
	const status = await withIntakeRedis(ctx, async (redis) => await runImport(redis, {
		importId: body.importId,
		rows: body.leads,
		batchSize: s.importBatchSize,
		stream: s.stream,
		maxLen: s.maxLen,
		replayWindowSeconds: Math.max(s.replayWindowSeconds, 3600),
		testRun: s.testRun,
		toLead,
		onQueued: (leads) => countIntake(ctx, s, redis, leads, []),
	}));
	if ('conflict' in status) {
		respond(res, 409, { error: status.error });
		return { noWebhookResponse: true };
	}
	respond(res, status.status === 'failed' ? 503 : 200, status);
	return { noWebhookResponse: true };
}
