import type { Lead } from '../../nodes/shared/lead/lead';
import { replayKey } from '../../nodes/shared/intake/replayKeys';

const lead = (source: Lead['source']): Lead => ({ traceId: '01JBZ0000000000000000000AA', source, receivedAt: '2026-01-01T00:00:00Z', raw: {} });

describe('replayKey', () => {
	test('scoped by channel and source id: two bots with one messageId are two keys', () => {
		const a = replayKey(lead({ channel: 'WHATSAPP_BOT', id: 'travel-bot', messageId: 'session-42' }));
		const b = replayKey(lead({ channel: 'WHATSAPP_BOT', id: 'visa-bot', messageId: 'session-42' }));
		const c = replayKey(lead({ channel: 'WEBSITE', id: 'travel-bot', messageId: 'session-42' }));
		expect(new Set([a, b, c]).size).toBe(3);
	});

	test('Idempotency-Key, message id and import row live in separate key spaces', () => {
		const idem = replayKey(lead({ channel: 'WEBSITE', idempotencyKey: 'nightly:0' }));
		const message = replayKey(lead({ channel: 'WEBSITE', messageId: 'nightly:0' }));
		const row = replayKey(lead({ channel: 'WEBSITE', importId: 'nightly', importRow: 0 }));
		expect(new Set([idem, message, row]).size).toBe(3);
	});

	test('a ":" inside an id cannot forge another scope', () => {
		const a = replayKey(lead({ channel: 'WHATSAPP_BOT', id: 'a:b', messageId: 'c' }));
		const b = replayKey(lead({ channel: 'WHATSAPP_BOT', id: 'a', messageId: 'b:c' }));
		expect(a).not.toBe(b);
	});

	test('no id, no key', () => {
		expect(replayKey(lead({ channel: 'WEBSITE' }))).toBeUndefined();
	});
});
