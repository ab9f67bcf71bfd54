import { phoneFromWaId, PhoneNumberError } from '../lead';
import { isRecord, textOf, type ChannelDraft, type Extracted, type IntakeChannel } from './draft';

const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

/** The words of an inbound message, whatever its type. */
function messageText(message: Record<string, unknown>): string | undefined {
	const type = textOf(message.type);
	const body = isRecord(message[type ?? '']) ? (message[type ?? ''] as Record<string, unknown>) : {};
	if (type === 'text') return textOf(body.body);
	if (type === 'button') return textOf(body.text);
	if (type === 'interactive') {
		const reply = isRecord(body.button_reply) ? body.button_reply : isRecord(body.list_reply) ? body.list_reply : {};
		return textOf(reply.title);
	}
	return textOf(body.caption) ?? (type ? `[${type}]` : undefined);
}

// Message types a person sends when talking to the business; the rest (system notices,
// reactions, unsupported) are events, not leads.
const CONVERSATIONAL = new Set(['text', 'button', 'interactive', 'image', 'document', 'audio', 'video', 'location', 'contacts', 'sticker']);

/** WhatsApp Cloud API webhook: every entry[].changes[].value.messages[] becomes a draft lead. */
export function whatsAppDrafts(payload: unknown): Extracted {
	const drafts: ChannelDraft[] = [];
	const events: unknown[] = [];
	for (const entry of list(isRecord(payload) ? payload.entry : undefined)) {
		for (const change of list(isRecord(entry) ? entry.changes : undefined)) {
			const value = isRecord(change) && isRecord(change.value) ? change.value : {};
			const phoneNumberId = textOf(isRecord(value.metadata) ? value.metadata.phone_number_id : undefined);
			const contacts = list(value.contacts).filter(isRecord);
			for (const status of list(value.statuses)) events.push({ kind: 'status', phoneNumberId, ...(isRecord(status) ? status : {}) });
			for (const message of list(value.messages).filter(isRecord)) {
				if (!CONVERSATIONAL.has(String(message.type))) {
					events.push({ kind: 'message', phoneNumberId, ...message });
					continue;
				}
				const from = textOf(message.from);
				const contact = contacts.find((c) => c.wa_id === from) ?? contacts[0];
				const waId = textOf(contact?.wa_id) ?? from;
				// A wa_id no numbering plan knows still reaches the person on WhatsApp: keep it as waId.
				let phone: string | undefined;
				try {
					if (waId) phone = phoneFromWaId(waId).e164;
				} catch (error) {
					if (!(error instanceof PhoneNumberError)) throw error;
				}
				drafts.push({
					source: { channel: 'WHATSAPP', id: phoneNumberId, messageId: textOf(message.id) },
					name: textOf(isRecord(contact?.profile) ? contact.profile.name : undefined),
					phone,
					waId: waId && /^\d{6,15}$/.test(waId) ? waId : undefined,
					message: messageText(message),
					raw: { contact, message },
				});
			}
		}
	}
	return { drafts, events };
}

/** The WhatsApp Cloud API channel (a signed Meta webhook). */
export const whatsAppChannel: IntakeChannel = (body) => whatsAppDrafts(body);
