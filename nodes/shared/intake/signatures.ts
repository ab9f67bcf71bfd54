import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export function hmacSha256(key: string | Buffer, data: string | Buffer, encoding: 'hex' | 'base64'): string {
	return createHmac('sha256', key).update(data).digest(encoding);
}

/** Constant-time string comparison (both sides hashed first, so length leaks nothing either). */
export function safeEqual(a: string, b: string): boolean {
	const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();
	return timingSafeEqual(digest(a), digest(b)) && a.length === b.length;
}

/**
 * Meta's `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(raw body, app secret)>` (WhatsApp Cloud
 * API and Instagram webhooks), checked over the raw bytes, never a re-serialized body.
 */
export function verifyMetaSignature(rawBody: Buffer, header: unknown, appSecret: string): boolean {
	if (typeof header !== 'string' || !header.startsWith('sha256=') || !appSecret) return false;
	return safeEqual(header.slice('sha256='.length).toLowerCase(), hmacSha256(appSecret, rawBody, 'hex'));
}

/** A form's HMAC header: hex HMAC-SHA256 of the raw body, with or without a `sha256=` prefix. */
export function verifyBodyHmac(rawBody: Buffer, header: unknown, secret: string): boolean {
	if (typeof header !== 'string' || !secret) return false;
	const hex = header.startsWith('sha256=') ? header.slice('sha256='.length) : header;
	return safeEqual(hex.trim().toLowerCase(), hmacSha256(secret, rawBody, 'hex'));
}

/**
 * What a form's HMAC is computed over. With neither a timestamp nor an Idempotency-Key header it is
 * the raw body alone (so existing senders keep working). With either, it is
 *   `<timestamp>\n<idempotency key>\n<raw body>`
 * (a missing one as the empty string): the timestamp bounds how long a captured post can be
 * replayed, and signing the key stops a replay under a fresh key from becoming a new lead.
 */
export function formSignedContent(rawBody: Buffer, timestamp?: string, idempotencyKey?: string): Buffer {
	if (timestamp === undefined && idempotencyKey === undefined) return rawBody;
	return Buffer.concat([Buffer.from(`${timestamp ?? ''}\n${idempotencyKey ?? ''}\n`, 'utf8'), rawBody]);
}

/** A Unix-seconds timestamp within ±toleranceSeconds of now. */
export function timestampWithin(timestamp: string, toleranceSeconds: number, nowMs = Date.now()): boolean {
	if (!/^\d{1,12}$/.test(timestamp.trim())) return false;
	return Math.abs(nowMs / 1000 - Number(timestamp.trim())) <= toleranceSeconds;
}
