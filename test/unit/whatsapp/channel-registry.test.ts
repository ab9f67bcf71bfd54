import { DEFAULT_SCHEDULE } from '../../../nodes/shared/http';
import { fixedClock } from '../../support/clock';
import { CHANNEL_NAMES, channelName, openChannel, UnknownChannelError } from '../../../nodes/shared/whatsapp/channels/registry';
import type { RetryPolicy } from '../../../nodes/shared/whatsapp/channels/channel';

const policy = (): RetryPolicy => ({ attempts: 1, schedule: DEFAULT_SCHEDULE, maxInlineWaitMs: 0, clock: fixedClock('2026-01-05T10:00:00Z') });
const text = { kind: 'text' as const, body: 'Hello', previewUrl: false };

describe('WhatsApp channel registry', () => {
	it('knows the Cloud API and the QR session channel by name', () => {
		expect(CHANNEL_NAMES).toEqual(['cloudApi', 'qrSession']);
		expect(openChannel('cloudApi', {}).name).toBe('cloudApi');
		expect(openChannel('qrSession', {}).name).toBe('qrSession');
	});

	it('refuses an unknown channel name with an error that lists the known ones', () => {
		expect(() => openChannel('telegram', {})).toThrow(UnknownChannelError);
		expect(() => channelName('cloudApiWithQrFallback')).toThrow('Unknown WhatsApp channel "cloudApiWithQrFallback": the channels are cloudApi, qrSession');
		// An inherited property is no channel either.
		expect(() => channelName('toString')).toThrow(UnknownChannelError);
	});

	it('says which channel status webhooks report (only those can settle an unknown outcome)', () => {
		expect(openChannel('cloudApi', {}).statusWebhooks).toBe(true);
		expect(openChannel('qrSession', {}).statusWebhooks).toBe(false);
	});

	it('fails a send without a credential permanently, with no request made', async () => {
		for (const name of CHANNEL_NAMES) {
			const channel = openChannel(name, {});
			expect(channel.configured).toBe(false);
			const result = await channel.send('972501234567', text, policy());
			expect(result).toMatchObject({ ok: false, channel: name, attempts: 0, failure: { kind: 'permanent' } });
		}
	});

	it('previews the request each channel would make', () => {
		const cloud = openChannel('cloudApi', { cloudApi: { baseUrl: 'https://graph.example/', version: 'v21.0', phoneNumberId: '123', accessToken: 't' } });
		expect(cloud.preview('972501234567', text)).toMatchObject({ method: 'POST', url: 'https://graph.example/v21.0/123/messages' });
		const qr = openChannel('qrSession', { qr: { baseUrl: 'https://qr.example', apiKey: 'k', sessionId: 's' }, qrText: 'Hi' });
		expect(qr.preview('972501234567', { kind: 'template', name: 'welcome', language: 'en', header: [], body: [], buttons: [] })).toEqual({
			method: 'POST',
			url: 'https://qr.example/messages',
			body: { to: '+972501234567', text: 'Hi' },
		});
	});
});
