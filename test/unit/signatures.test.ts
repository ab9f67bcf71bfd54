import { createHmac } from 'node:crypto';

import { checkFormSecret } from '../../nodes/common/formSecretCredential';
import { safeEqual, verifyBodyHmac, verifyMetaSignature } from '../../nodes/shared/signatures';

const body = Buffer.from('{"object":"whatsapp_business_account"}');
const hex = (secret: string, data: Buffer) => createHmac('sha256', secret).update(data).digest('hex');

describe('signatures', () => {
	test('Meta X-Hub-Signature-256 over the raw bytes', () => {
		expect(verifyMetaSignature(body, `sha256=${hex('s3cret', body)}`, 's3cret')).toBe(true);
		expect(verifyMetaSignature(body, `sha256=${hex('s3cret', body).toUpperCase()}`, 's3cret')).toBe(true);
		expect(verifyMetaSignature(body, `sha256=${hex('other', body)}`, 's3cret')).toBe(false);
		expect(verifyMetaSignature(Buffer.from(`${body} `), `sha256=${hex('s3cret', body)}`, 's3cret')).toBe(false);
		expect(verifyMetaSignature(body, hex('s3cret', body), 's3cret')).toBe(false);
		expect(verifyMetaSignature(body, undefined, 's3cret')).toBe(false);
		expect(verifyMetaSignature(body, `sha256=${hex('', body)}`, '')).toBe(false);
	});

	test('form HMAC with or without the sha256= prefix', () => {
		expect(verifyBodyHmac(body, hex('k', body), 'k')).toBe(true);
		expect(verifyBodyHmac(body, `sha256=${hex('k', body)}`, 'k')).toBe(true);
		expect(verifyBodyHmac(body, 'deadbeef', 'k')).toBe(false);
	});

	test('safeEqual', () => {
		expect(safeEqual('abc', 'abc')).toBe(true);
		expect(safeEqual('abc', 'abd')).toBe(false);
		expect(safeEqual('abc', 'abcd')).toBe(false);
	});

	test('the form secret credential check', () => {
		expect(checkFormSecret({ secret: 'short', headerName: 'X-A' }).status).toBe('Error');
		expect(checkFormSecret({ secret: '0123456789abcdef', headerName: 'X A' }).status).toBe('Error');
		expect(checkFormSecret({ secret: '0123456789abcdef', headerName: 'X-Lead-Signature' })).toEqual({ status: 'OK', message: 'Callers must send X-Lead-Signature' });
	});
});
