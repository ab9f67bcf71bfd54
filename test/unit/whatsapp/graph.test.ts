import { classifyGraphError, classifyTransportError, describeStatusError } from '../../../nodes/shared/whatsapp/graphErrors';
import { graphPayload, MessageInputError, recipientDigits, validateMessage, type TemplateMessage } from '../../../nodes/shared/whatsapp/graphPayload';
import { graphErrorBody } from '../../../sandbox/graphApi';

test('text payload as Meta documents it, preview_url carried', () => {
	expect(graphPayload('+972 50-123-4567', { kind: 'text', body: 'Hi https://x.test', previewUrl: true })).toEqual({
		messaging_product: 'whatsapp',
		recipient_type: 'individual',
		to: '972501234567',
		type: 'text',
		text: { preview_url: true, body: 'Hi https://x.test' },
	});
});

test('template payload: header/body parameters (positional and named) and buttons', () => {
	const template: TemplateMessage = {
		kind: 'template',
		name: 'lead_followup',
		language: 'he',
		header: [{ text: 'Dana' }],
		body: [{ text: 'Dana', name: 'first_name' }, { text: 'Tel Aviv', name: 'city' }],
		buttons: [{ subType: 'quick_reply', index: 0, value: 'YES' }, { subType: 'url', index: 1, value: 'abc123' }],
	};
	expect(graphPayload('972501234567', template)).toEqual({
		messaging_product: 'whatsapp',
		recipient_type: 'individual',
		to: '972501234567',
		type: 'template',
		template: {
			name: 'lead_followup',
			language: { code: 'he' },
			components: [
				{ type: 'header', parameters: [{ type: 'text', text: 'Dana' }] },
				{ type: 'body', parameters: [{ type: 'text', parameter_name: 'first_name', text: 'Dana' }, { type: 'text', parameter_name: 'city', text: 'Tel Aviv' }] },
				{ type: 'button', sub_type: 'quick_reply', index: '0', parameters: [{ type: 'payload', payload: 'YES' }] },
				{ type: 'button', sub_type: 'url', index: '1', parameters: [{ type: 'text', text: 'abc123' }] },
			],
		},
	});
});

test('input problems name the field', () => {
	expect(() => recipientDigits('call me')).toThrow(MessageInputError);
	expect(() => recipientDigits('call me')).toThrow(/^To "call me" is not a phone number/);
	expect(() => validateMessage({ kind: 'text', body: '  ', previewUrl: false })).toThrow(/^Text is empty/);
	expect(() => validateMessage({ kind: 'text', body: 'x'.repeat(4097), previewUrl: false })).toThrow(/4097 characters/);
	expect(() => validateMessage({ kind: 'template', name: 'Bad Name', language: 'en_US', header: [], body: [], buttons: [] })).toThrow(/^Template Name/);
	expect(() => validateMessage({ kind: 'template', name: 'ok', language: 'english', header: [], body: [], buttons: [] })).toThrow(/^Language Code/);
	expect(() => validateMessage({ kind: 'template', name: 'ok', language: 'en', header: [], body: [{ text: 'a', name: 'x' }, { text: 'b' }], buttons: [] })).toThrow(/^Body Parameters mix named/);
});

describe('classification by Graph error code', () => {
	const kindOf = (code: number) => {
		const { status, body } = graphErrorBody(code);
		return classifyGraphError(status, body);
	};
	test.each([130429, 131056, 4, 80007, 1, 2, 131000, 131016])('%s is retryable', (code) => {
		expect(kindOf(code)).toMatchObject({ kind: 'retryable', code });
	});
	test('131056 is the pair rate', () => expect(kindOf(131056).pairRate).toBe(true));
	test('131047 is outside the 24 h window', () => expect(kindOf(131047)).toMatchObject({ kind: 'outsideWindow', code: 131047 }));
	test.each([
		[131026, /not on WhatsApp/],
		[132000, /as many header\/body parameters as the approved template has placeholders/],
		[132001, /check the template name and language code/],
		[100, /check the recipient number, template parameters/],
	])('%s is permanent and says what to fix', (code, fix) => {
		const failure = kindOf(code);
		expect(failure.kind).toBe('permanent');
		expect(failure.fix).toMatch(fix);
	});
	test('190 is an expired token', () => {
		expect(kindOf(190)).toMatchObject({ kind: 'authExpired', fix: 'token expired, renew the access token in the credential', httpStatus: 401 });
	});
	test('5xx without a Graph body is retryable; other 4xx without a code permanent', () => {
		expect(classifyGraphError(502, undefined).kind).toBe('retryable');
		expect(classifyGraphError(404, undefined).kind).toBe('permanent');
	});
	test('Meta message and details are kept', () => {
		expect(kindOf(131047).message).toBe('(#131047) Re-engagement message: Message failed to send because more than 24 hours have passed since the customer last replied to this number.');
	});
	test('transport failures: network/timeout retryable, blocked address permanent', () => {
		expect(classifyTransportError({ retryable: true, message: 'ECONNRESET' }).kind).toBe('retryable');
		expect(classifyTransportError({ retryable: false, message: 'blocked' }).kind).toBe('permanent');
	});
	test('a timeout or dropped connection after the whole request was sent is an unknown outcome, never retryable', () => {
		const unknown = classifyTransportError({ retryable: true, message: 'no complete response within 10000 ms', requestSent: true });
		expect(unknown).toMatchObject({ kind: 'outcomeUnknown', fix: expect.stringMatching(/Resend Interrupted Sends/) });
		expect(classifyTransportError({ retryable: true, message: 'ECONNREFUSED', requestSent: false }).kind).toBe('retryable');
	});
	test('a status webhook error becomes a reason with the fix', () => {
		expect(describeStatusError({ code: 131047, title: 'Re-engagement message', error_data: { details: 'more than 24 hours' } })).toEqual({
			code: 131047,
			reason: expect.stringMatching(/^131047 — Re-engagement message: more than 24 hours — More than 24 hours passed/),
		});
	});
});
