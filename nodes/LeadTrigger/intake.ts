import type { IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';

import { getImportStatus, RejectedStreamFullError, safeEqual, UnknownIntakeChannelError } from '../shared/intake';
import { RedisConnectionError } from '../shared/queue';
import { IMPORT_NEEDS_AUTH, overloaded, rejectedStreamFull, unavailable } from './answers';
import { formAuthorized, metaCredential } from './auth';
import { handleFormOrBot } from './form';
import { header, parseBody, rawBodyOf, respond, respondText, type WebhookRequest, type WebhookResponse } from './http';
import { withIntakeRedis } from './keep';
import { detectSource, handleMeta, isMeta, metaObjectOf } from './meta';
import { admitIntake } from './overload';
import { settings, type Settings } from './settings';

export { RETRY_AFTER_SECONDS } from './answers';

/** The Lead Trigger's webhook: POST a lead (form, bot, Meta webhook, bulk import), GET a handshake or an import's status. */

export async function handlePost(ctx: IWebhookFunctions): Promise<IWebhookResponseData> {
	const res: WebhookResponse = ctx.getResponseObject();
	const s = settings(ctx);
	const admission = admitIntake(s.shed);
	if (!admission.admitted) {
		ctx.logger.warn(`Lead Trigger shed a request (answered 503, nothing stored): ${admission.reason}`);
		overloaded(res);
		return { noWebhookResponse: true };
	}
	try {
		return await handleAdmittedPost(ctx, s, res);
	} finally {
		admission.release();
	}
}

async function handleAdmittedPost(ctx: IWebhookFunctions, s: Settings, res: WebhookResponse): Promise<IWebhookResponseData> {
	const req: WebhookRequest = ctx.getRequestObject();
	try {
		const raw = rawBodyOf(req);
		const parsed = parseBody(req, raw);
		if (!parsed.ok) {
			respond(res, parsed.status, { error: parsed.error });
			return { noWebhookResponse: true };
		}
		const source = s.source === 'auto' ? detectSource(parsed.body) : s.source;
		if (isMeta(source)) return await handleMeta(ctx, s, parsed.body, raw, req, res);
		const metaObject = metaObjectOf(parsed.body);
		if (metaObject && header(req, 'x-hub-signature-256') !== undefined) {
			// Not a form: answering 4xx keeps Meta retrying while the setting is fixed, instead of a lead lost.
			respond(res, 400, {
				error:
					`This is a Meta webhook (object "${metaObject}") but the trigger's Source is ${s.source === 'website' ? 'Website Form' : 'WhatsApp Bot'}: ` +
					'set Source to WhatsApp Cloud API, Instagram or Auto-Detect and select the Lead Pipeline WhatsApp Cloud API credential',
			});
			return { noWebhookResponse: true };
		}
		return await handleFormOrBot(ctx, s, source, parsed.body, raw, req, res);
	} catch (error) {
		if (error instanceof UnknownIntakeChannelError) {
			// A Source no channel has is the node's setting, not the sender's fault: a retry cannot help.
			ctx.logger.error(`Lead Trigger: ${error.message}`);
			respond(res, 500, { error: 'This lead endpoint is misconfigured: nothing was stored', description: error.message });
			return { noWebhookResponse: true };
		}
		if (error instanceof RejectedStreamFullError) {
			ctx.logger.warn(`Lead Trigger: ${error.message}; answered 503 so the sender retries. Review or delete entries, or raise the cap.`);
			rejectedStreamFull(res);
			return { noWebhookResponse: true };
		}
		// Whatever failed (Redis away, a credential missing), nothing was acknowledged: the caller retries.
		const reason = error instanceof RedisConnectionError ? error.summary : (error as Error).message;
		ctx.logger.warn(`Lead Trigger could not accept a lead: ${reason}`);
		unavailable(res);
		return { noWebhookResponse: true };
	}
}

/** GET: Meta's subscription handshake, or a bulk import's status (?importId=). */
export async function handleGet(ctx: IWebhookFunctions): Promise<IWebhookResponseData> {
	const req: WebhookRequest = ctx.getRequestObject();
	const res: WebhookResponse = ctx.getResponseObject();
	const query = ctx.getQueryData() as Record<string, unknown>;
	try {
		if (query['hub.mode'] !== undefined) {
			const { verifyToken } = await metaCredential(ctx);
			const token = String(query['hub.verify_token'] ?? '');
			if (query['hub.mode'] === 'subscribe' && verifyToken && safeEqual(token, verifyToken)) {
				respondText(res, 200, String(query['hub.challenge'] ?? ''));
			} else {
				respondText(res, 403, 'Verification failed');
			}
			return { noWebhookResponse: true };
		}
		if (typeof query.importId === 'string' && query.importId) {
			const s = settings(ctx);
			if (s.authentication === 'none') {
				respond(res, 403, { error: IMPORT_NEEDS_AUTH });
				return { noWebhookResponse: true };
			}
			// A GET has no body: its signed content is the importId.
			const auth = await formAuthorized(ctx, s, req, Buffer.from(query.importId));
			if (!auth.ok) {
				respond(res, 401, { error: auth.error });
				return { noWebhookResponse: true };
			}
			const status = await withIntakeRedis(ctx, async (redis) => await getImportStatus(redis, query.importId as string, ctx.getMode() === 'manual'));
			respond(res, status ? 200 : 404, status ?? { error: `No import ${query.importId} (imports are kept for 1 hour)` });
			return { noWebhookResponse: true };
		}
		respond(res, 400, { error: 'GET needs hub.mode (Meta verification) or importId (import status)' });
	} catch (error) {
		ctx.logger.warn(`Lead Trigger GET failed: ${(error as Error).message}`);
		unavailable(res);
	}
	return { noWebhookResponse: true };
}
