import { randomBytes } from 'node:crypto';

import {
	decodeWebhookSecret,
	splitSecrets,
	standardWebhookHeaders,
	webhookIdFor,
} from '../../nodes/shared/webhook/standardWebhooks';
import { verifyStandardWebhook } from '../../sandbox/standardWebhooksVerifier';

const newSecret = (bytes = 32) => `whsec_${randomBytes(bytes).toString('base64')}`;
const body = Buffer.from('{"event":"lead.created","data":{"name":"Ann","note":"ünïcode"}}');
const now = 1_735_689_600;

describe('Standard Webhooks signing', () => {
	test('a receiver verifying by the spec accepts the signature', () => {
		const secret = newSecret();
		const headers = standardWebhookHeaders({ id: 'msg_abc', timestamp: now, body, keys: [decodeWebhookSecret(secret)] });
		expect(headers['webhook-id']).toBe('msg_abc');
		expect(headers['webhook-timestamp']).toBe(String(now));
		expect(headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
		expect(verifyStandardWebhook(headers, body, secret, now)).toEqual({ ok: true });
	});

	test('a known vector (key = base64-decoded secret, content "id.timestamp.body")', () => {
		// Computed with openssl: HMAC-SHA256 key bytes 0x00..0x1f over "msg_1.1700000000.{}", base64.
		const secret = 'whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=';
		const headers = standardWebhookHeaders({ id: 'msg_1', timestamp: 1_700_000_000, body: '{}', keys: [decodeWebhookSecret(secret)] });
		expect(headers['webhook-signature']).toBe('v1,fhksJF5ElKjlPoT/jtefCO5XjQPvhf7Dhf/8R1ad9yU=');
	});

	test('tampered body, id, timestamp or wrong secret are rejected by the receiver', () => {
		const secret = newSecret();
		const headers = standardWebhookHeaders({ id: 'msg_abc', timestamp: now, body, keys: [decodeWebhookSecret(secret)] });
		expect(verifyStandardWebhook(headers, Buffer.from(`${body} `), secret, now).ok).toBe(false);
		expect(verifyStandardWebhook({ ...headers, 'webhook-id': 'msg_abd' }, body, secret, now).ok).toBe(false);
		expect(verifyStandardWebhook({ ...headers, 'webhook-timestamp': String(now + 1) }, body, secret, now).ok).toBe(false);
		expect(verifyStandardWebhook(headers, body, newSecret(), now).ok).toBe(false);
		expect(verifyStandardWebhook(headers, body, secret, now + 301)).toEqual({ ok: false, reason: 'timestamp outside tolerance' });
	});

	test('rotation: one signature per secret, space-separated; a receiver with either secret verifies', () => {
		const current = newSecret();
		const previous = newSecret(24);
		const keys = splitSecrets(`${current}\n${previous}`).map((s) => decodeWebhookSecret(s));
		const headers = standardWebhookHeaders({ id: 'msg_r', timestamp: now, body, keys });
		expect(headers['webhook-signature'].split(' ')).toHaveLength(2);
		expect(verifyStandardWebhook(headers, body, current, now).ok).toBe(true);
		expect(verifyStandardWebhook(headers, body, previous, now).ok).toBe(true);
		expect(verifyStandardWebhook(headers, body, newSecret(), now).ok).toBe(false);
	});

	test('webhook-id is stable for a traceId + event and differs across events and leads', () => {
		const a = webhookIdFor('01JABCDEFGHJKMNPQRSTVWXYZ0', 'lead.created');
		expect(a).toBe(webhookIdFor('01JABCDEFGHJKMNPQRSTVWXYZ0', 'lead.created'));
		expect(a).toMatch(/^msg_[A-Za-z0-9_-]{27}$/);
		expect(a).not.toBe(webhookIdFor('01JABCDEFGHJKMNPQRSTVWXYZ0', 'lead.synced'));
		expect(a).not.toBe(webhookIdFor('01JABCDEFGHJKMNPQRSTVWXYZ1', 'lead.created'));
	});

	test('bad secrets get a clear message that does not repeat them', () => {
		expect(() => decodeWebhookSecret('whsec_!!notbase64!!')).toThrow(/not whsec_ followed by base64/);
		const short = `whsec_${randomBytes(8).toString('base64')}`;
		expect(() => decodeWebhookSecret(short)).toThrow(/8 bytes.*24–64/);
		try {
			decodeWebhookSecret(short);
		} catch (error) {
			expect((error as Error).message).not.toContain(short.slice(6));
		}
		expect(decodeWebhookSecret(randomBytes(32).toString('base64'))).toHaveLength(32);
	});
});
