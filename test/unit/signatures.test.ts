import { createHmac } from 'node:crypto';

import { checkFormSecret } from '../../nodes/common/formSecretCredential';
import { formSignedContent, safeEqual, timestampWithin, verifyBodyHmac, verifyMetaSignature } from '../../nodes/shared/intake/signatures';

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

describe('form signed content', () => {
	test('body alone without headers; timestamp + "\\n" + key + "\\n" + body with either', () => {
		const raw = Buffer.from('{"a":1}');
		expect(formSignedContent(raw).toString()).toBe('{"a":1}');
		expect(formSignedContent(raw, '1739321024', 'k-1').toString()).toBe('1739321024\nk-1\n{"a":1}');
		expect(formSignedContent(raw, '1739321024').toString()).toBe('1739321024\n\n{"a":1}');
		expect(formSignedContent(raw, undefined, 'k-1').toString()).toBe('\nk-1\n{"a":1}');
	});

	test('timestamp window, both ways; garbage is outside', () => {
		const now = 1_739_321_024_000;
		expect(timestampWithin('1739321024', 300, now)).toBe(true);
		expect(timestampWithin('1739321324', 300, now)).toBe(true);
		expect(timestampWithin('1739321325', 300, now)).toBe(false);
		expect(timestampWithin('1739320723', 300, now)).toBe(false);
		expect(timestampWithin('soon', 300, now)).toBe(false);
	});
});
