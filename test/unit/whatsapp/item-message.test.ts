import { contentHash } from '../../../nodes/shared/whatsapp/contentHash';
import { MessageInputError, type TemplateMessage } from '../../../nodes/shared/whatsapp/graphPayload';
import { messageAtPath } from '../../../nodes/shared/whatsapp/itemMessage';

const template: TemplateMessage = { kind: 'template', name: 'lead_qualification', language: 'en', header: [], body: [{ text: 'Dana' }], buttons: [] };

test('a message carried on the item (as WhatsApp Send put it on a deferred item) is read back as the same message', () => {
	const item = { id: '1-0', message: { traceId: 't', whatsAppMessage: JSON.parse(JSON.stringify(template)) } };
	const read = messageAtPath(item, 'message.whatsAppMessage');
	expect(read).toEqual(template);
	// The same identity, so the idempotency claim is shared with the first attempt.
	expect(contentHash('972501234567', read!)).toBe(contentHash('972501234567', template));
});

test('a JSON string is read too; a text message keeps its preview flag', () => {
	expect(messageAtPath({ m: JSON.stringify({ kind: 'text', body: 'Hi', previewUrl: true }) }, 'm')).toEqual({ kind: 'text', body: 'Hi', previewUrl: true });
});

test('nothing at the path (or an empty path): undefined, so the node sends its own message', () => {
	expect(messageAtPath({ message: { name: 'Dana' } }, 'message.whatsAppMessage')).toBeUndefined();
	expect(messageAtPath({ message: { whatsAppMessage: null } }, 'message.whatsAppMessage')).toBeUndefined();
	expect(messageAtPath({ whatsAppMessage: template }, '')).toBeUndefined();
});

test('something there that is no message fails naming the option', () => {
	expect(() => messageAtPath({ m: { kind: 'image' } }, 'm')).toThrow(MessageInputError);
	expect(() => messageAtPath({ m: { kind: 'template', name: 'x' } }, 'm')).toThrow(/Message From Item Field/);
	expect(() => messageAtPath({ m: 'not json' }, 'm')).toThrow(/Message From Item Field/);
	expect(() => messageAtPath({ m: { kind: 'template', name: 'x', language: 'en', body: [{ text: 3 }] } }, 'm')).toThrow(/Message From Item Field/);
});
