import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * An independent receiver-side check written from the Standard Webhooks spec text (not from the
 * pack's signer): decode the secret after `whsec_`, recompute HMAC-SHA256 over
 * "{webhook-id}.{webhook-timestamp}.{raw body}", accept when any `v1,` entry of the
 * space-separated webhook-signature matches, reject timestamps more than 5 minutes off.
 */
export type VerifyResult = { ok: true } | { ok: false; reason: string };

export const TOLERANCE_SECONDS = 5 * 60;

export function verifyStandardWebhook(
	headers: Record<string, string | string[] | undefined>,
	rawBody: Buffer,
	secret: string,
	nowSeconds = Math.floor(Date.now() / 1000),
): VerifyResult {
	const one = (name: string) => {
		const v = headers[name];
		return Array.isArray(v) ? v[0] : v;
	};
	const id = one('webhook-id');
	const timestamp = one('webhook-timestamp');
	const signatures = one('webhook-signature');
	if (!id || !timestamp || !signatures) return { ok: false, reason: 'missing headers' };
	if (!/^\d+$/.test(timestamp)) return { ok: false, reason: 'bad timestamp' };
	if (Math.abs(nowSeconds - Number(timestamp)) > TOLERANCE_SECONDS) return { ok: false, reason: 'timestamp outside tolerance' };
	const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
	const expected = createHmac('sha256', key)
		.update(Buffer.concat([Buffer.from(`${id}.${timestamp}.`), rawBody]))
		.digest();
	for (const entry of signatures.split(' ')) {
		const [version, value] = entry.split(',', 2);
		if (version !== 'v1' || !value) continue;
		const given = Buffer.from(value, 'base64');
		if (given.length === expected.length && timingSafeEqual(given, expected)) return { ok: true };
	}
	return { ok: false, reason: 'no matching signature' };
}
