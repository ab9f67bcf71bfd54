import { createHmac } from 'node:crypto';

/** X-Hub-Signature-256 as Meta computes it over the raw body. */
export function metaSignature(raw: string, appSecret: string): string {
	return `sha256=${createHmac('sha256', appSecret).update(raw).digest('hex')}`;
}

/** A WhatsApp Business Account webhook in the shape of Meta's webhook reference. */
export function whatsAppWebhook(value: { messages?: unknown[]; contacts?: unknown[]; statuses?: unknown[] }) {
	return {
		object: 'whatsapp_business_account',
		entry: [
			{
				id: '102290129340398',
				changes: [
					{
						field: 'messages',
						value: {
							messaging_product: 'whatsapp',
							metadata: { display_phone_number: '15550783881', phone_number_id: '106540352242922' },
							...value,
						},
					},
				],
			},
		],
	};
}

export function whatsAppText(from: string, id: string, body: string, timestamp = '1739321024') {
	return { from, id, timestamp, type: 'text', text: { body } };
}

export function whatsAppContact(waId: string, name: string) {
	return { profile: { name }, wa_id: waId };
}

/** An Instagram messaging webhook in the shape of Meta's reference. */
export function instagramWebhook(messaging: unknown[]) {
	return { object: 'instagram', entry: [{ id: '17841405822304914', time: 1739321024, messaging }] };
}

export function instagramText(senderId: string, mid: string, text: string) {
	return { sender: { id: senderId }, recipient: { id: '17841405822304914' }, timestamp: 1739321024000, message: { mid, text } };
}
