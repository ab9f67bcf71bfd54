import { createHash, createHmac } from 'node:crypto';

/**
 * Signing per the Standard Webhooks spec (https://www.standardwebhooks.com, Svix's scheme):
 *   webhook-id         stable per event, the receiver's idempotency key (same on every retry)
 *   webhook-timestamp  Unix seconds of this attempt
 *   webhook-signature  space-separated `v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`,
 *                      one per secret, so a receiver holding either the new or the old secret
 *                      verifies during a rotation.
 * The key is the base64-decoded part after `whsec_`.
 */

export const SECRET_PREFIX = 'whsec_';
export const MIN_SECRET_BYTES = 24;
export const MAX_SECRET_BYTES = 64;

export class WebhookSecretError extends Error {
	constructor(message: string) {
		super(message);
		this.name = 'WebhookSecretError';
	}
}

/**
 * The HMAC key of one secret. Accepts `whsec_<base64>` (or bare base64, as the official
 * libraries do). The message never repeats the secret.
 */
export function decodeWebhookSecret(secret: string, label = 'the signing secret'): Buffer {
	const trimmed = secret.trim();
	const encoded = trimmed.startsWith(SECRET_PREFIX) ? trimmed.slice(SECRET_PREFIX.length) : trimmed;
	const canonical = encoded.replace(/=+$/, '');
	if (!/^[A-Za-z0-9+/]+$/.test(canonical) || canonical.length % 4 === 1) {
		throw new WebhookSecretError(`${label} is not whsec_ followed by base64`);
	}
	const key = Buffer.from(encoded, 'base64');
	if (key.length < MIN_SECRET_BYTES || key.length > MAX_SECRET_BYTES) {
		throw new WebhookSecretError(
			`${label} decodes to ${key.length} bytes; the Standard Webhooks spec wants ${MIN_SECRET_BYTES}–${MAX_SECRET_BYTES}`,
		);
	}
	return key;
}

/** Splits a secrets field (spaces, commas or new lines) into its secrets. */
export function splitSecrets(value: string | undefined): string[] {
	return (value ?? '').split(/[\s,]+/).filter(Boolean);
}

/**
 * `msg_` + 27 base64url characters of SHA-256(traceId, eventType): the same lead and event always
 * get the same id (across retries, redeliveries and the retry stream), different events differ.
 */
export function webhookIdFor(traceId: string, eventType: string): string {
	const digest = createHash('sha256').update(`${traceId}\u0000${eventType}`, 'utf8').digest('base64url');
	return `msg_${digest.slice(0, 27)}`;
}

export interface SignInput {
	id: string;
	/** Unix seconds. */
	timestamp: number;
	/** The exact bytes sent as the body. */
	body: string | Buffer;
	/** Decoded keys (decodeWebhookSecret), current first. */
	keys: Buffer[];
}

/** The `webhook-signature` value: `v1,<sig>` per key, space-separated. */
export function standardWebhookSignature({ id, timestamp, body, keys }: SignInput): string {
	if (keys.length === 0) throw new WebhookSecretError('no signing secret given');
	if (id.includes('.')) throw new WebhookSecretError('a webhook id must not contain "."');
	return keys
		.map((key) => {
			const mac = createHmac('sha256', key);
			mac.update(`${id}.${Math.floor(timestamp)}.`, 'utf8');
			mac.update(body);
			return `v1,${mac.digest('base64')}`;
		})
		.join(' ');
}

/** The three headers, ready to send. */
export function standardWebhookHeaders(input: SignInput): Record<string, string> {
	return {
		'webhook-id': input.id,
		'webhook-timestamp': String(Math.floor(input.timestamp)),
		'webhook-signature': standardWebhookSignature(input),
	};
}
