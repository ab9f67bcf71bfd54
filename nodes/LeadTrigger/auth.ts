import type { IWebhookFunctions } from 'n8n-workflow';

import { formSignedContent, safeEqual, timestampWithin, verifyBodyHmac } from '../shared/intake';
import { cachedCredentials } from '../common/credentialCache';
import { header, type WebhookRequest } from './http';
import type { Settings } from './settings';

/** Who may post: Meta's app secret and verify token, or the form secret (shared or HMAC). */

export async function metaCredential(ctx: IWebhookFunctions): Promise<{ appSecret: string; verifyToken: string }> {
	const cred = await cachedCredentials(ctx, 'leadPipelineWhatsAppApi');
	return { appSecret: String(cred.appSecret ?? ''), verifyToken: String(cred.verifyToken ?? '') };
}

export type AuthOutcome = { ok: true } | { ok: false; error: string };
const AUTH_FAILED: AuthOutcome = { ok: false, error: 'Missing or invalid authentication header' };

/**
 * Form/bot authentication per the node's setting. HMAC covers the timestamp and Idempotency-Key
 * headers too (see formSignedContent); a timestamp outside the window is refused whatever the mode.
 */
export async function formAuthorized(ctx: IWebhookFunctions, s: Settings, req: WebhookRequest, raw: Buffer): Promise<AuthOutcome> {
	if (s.authentication === 'none') return { ok: true };
	const cred = await cachedCredentials(ctx, 'leadPipelineFormSecretApi');
	const secret = String(cred.secret ?? '');
	const provided = header(req, String(cred.headerName || 'X-Lead-Signature'));
	const timestampHeader = String(cred.timestampHeaderName || 'X-Lead-Timestamp');
	const timestamp = header(req, timestampHeader);
	if (!secret || provided === undefined) return AUTH_FAILED;
	if (timestamp === undefined && s.requireTimestamp) {
		return { ok: false, error: `${timestampHeader} is required (Unix seconds, signed with the body): this trigger has Require Timestamp on` };
	}
	if (timestamp !== undefined && !timestampWithin(timestamp, s.timestampToleranceSeconds)) {
		return {
			ok: false,
			error: `${timestampHeader} is outside the ${s.timestampToleranceSeconds}-second window: sign each request with the current Unix time (seconds)`,
		};
	}
	const valid =
		s.authentication === 'hmac'
			? verifyBodyHmac(formSignedContent(raw, timestamp, header(req, 'idempotency-key')), provided, secret)
			: safeEqual(provided, secret);
	return valid ? { ok: true } : AUTH_FAILED;
}
