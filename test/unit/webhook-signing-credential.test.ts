import { randomBytes } from 'node:crypto';

import { checkWebhookSigning, toWebhookSigning } from '../../nodes/common/webhookSigningCredential';

const secret = () => `whsec_${randomBytes(32).toString('base64')}`;

describe('Webhook Signing credential', () => {
	test('current + previous secrets become keys in order; the auth header is kept apart', () => {
		const a = secret();
		const b = secret();
		const signing = toWebhookSigning({ secret: a, previousSecrets: `${b}`, authHeaderName: 'Authorization', authHeaderValue: 'Bearer x' });
		expect(signing.keys.map((k) => k.toString('base64'))).toEqual([a.slice(6), b.slice(6)]);
		expect(signing.secretHeaders).toEqual({ Authorization: 'Bearer x' });
	});

	test('Test button: OK with a good secret, the reason without the secret otherwise', () => {
		expect(checkWebhookSigning({ secret: secret() })).toEqual({ status: 'OK', message: '1 signing key ready' });
		expect(checkWebhookSigning({ secret: '' })).toMatchObject({ status: 'Error', message: expect.stringMatching(/Enter a signing secret/) });
		const bad = 'whsec_c2hvcnQ=';
		const result = checkWebhookSigning({ secret: bad });
		expect(result).toMatchObject({ status: 'Error', message: expect.stringMatching(/5 bytes/) });
		expect(result.message).not.toContain('c2hvcnQ');
		const old = checkWebhookSigning({ secret: secret(), previousSecrets: 'whsec_%%%' });
		expect(old).toMatchObject({ status: 'Error', message: expect.stringMatching(/Previous secret 1/) });
		expect(checkWebhookSigning({ secret: secret(), authHeaderName: 'Bad Header' })).toMatchObject({ status: 'Error' });
	});
});
