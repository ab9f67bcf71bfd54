import type { IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';

import { finalizeDrafts, intakeChannel, isBulkImport, isRecord, rejectedEntry, websiteFormDraft, withRawPolicy } from '../shared/intake';
import { newTraceId } from '../shared/lead';
import { executionData } from './answers';
import { formAuthorized } from './auth';
import { handleBulkImport } from './bulkImport';
import { header, respond, type WebhookRequest, type WebhookResponse } from './http';
import { keepRejectedEntries, store, withIntakeRedis } from './keep';
import { countIntake } from './metrics';
import type { Settings, Source } from './settings';

/** A website form or a WhatsApp-bot hand-off: one lead per request, answered with its traceId. */

export async function handleFormOrBot(ctx: IWebhookFunctions, s: Settings, source: Source, body: unknown, raw: Buffer, req: WebhookRequest, res: WebhookResponse): Promise<IWebhookResponseData> {
	const auth = await formAuthorized(ctx, s, req, raw);
	if (!auth.ok) {
		respond(res, 401, { error: auth.error });
		return { noWebhookResponse: true };
	}
	if (!isRecord(body)) {
		respond(res, 400, { error: 'Invalid lead', errors: [{ field: '', message: 'the body must be a JSON object or a form' }] });
		return { noWebhookResponse: true };
	}
	if (source === 'website' && isBulkImport(body)) return await handleBulkImport(ctx, s, body, res);
	if (source === 'website' && s.honeypotField && String(body[s.honeypotField] ?? '').trim() !== '') {
		// Looks like success to a bot, but is kept aside: autofill can fill a hidden field for a person.
		if (s.durable) {
			const detail = `honeypot field "${s.honeypotField}" was filled`;
			const entry = rejectedEntry('honeypot', detail, withRawPolicy(websiteFormDraft(body, s.formFields), s.raw));
			await withIntakeRedis(ctx, async (redis) => {
				await keepRejectedEntries(ctx, s, redis, [entry]);
				countIntake(ctx, s, redis, [], [entry]);
			});
		}
		respond(res, s.successStatus, { traceId: newTraceId() });
		return { noWebhookResponse: true };
	}
	// A form or bot body (an object, checked above) is one draft.
	const [draft] = intakeChannel(source)(body, s).drafts;
	const idempotencyKey = header(req, 'idempotency-key');
	if (idempotencyKey) draft.source.idempotencyKey = idempotencyKey.slice(0, 500);
	const { leads, rejected } = finalizeDrafts([draft], { defaultCountry: s.defaultCountry, raw: s.raw, testRun: s.testRun });
	if (rejected.length) {
		respond(res, 400, { error: 'Invalid lead', errors: rejected[0].errors });
		return { noWebhookResponse: true };
	}
	const [result] = await store(ctx, s, leads, []);
	if (!result.stored) {
		respond(res, s.successStatus, { traceId: result.duplicateOf, duplicate: true });
		return { noWebhookResponse: true };
	}
	respond(res, s.successStatus, { traceId: result.traceId });
	return executionData(s, leads, [], []);
}
