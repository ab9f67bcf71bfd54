import { findPhoneNumbersInText } from 'libphonenumber-js/max';

import type { CountryCode } from '../phone';
import { isRecord, textOf, type ChannelDraft, type Extracted } from './draft';

const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

/** Instagram messaging webhook: entry[].messaging[] from users (not the business's own echoes). */
export function instagramDrafts(payload: unknown, defaultCountry?: CountryCode): Extracted {
	const drafts: ChannelDraft[] = [];
	const events: unknown[] = [];
	for (const entry of list(isRecord(payload) ? payload.entry : undefined)) {
		const accountId = textOf(isRecord(entry) ? entry.id : undefined);
		for (const event of list(isRecord(entry) ? entry.messaging : undefined).filter(isRecord)) {
			const message = isRecord(event.message) ? event.message : undefined;
			if (!message || message.is_echo === true) {
				events.push(event);
				continue;
			}
			const text = textOf(message.text);
			const phone = text ? findPhoneNumbersInText(text, defaultCountry)[0]?.number.number : undefined;
			drafts.push({
				source: { channel: 'INSTAGRAM_BOT', id: accountId, messageId: textOf(message.mid) },
				instagramUserId: textOf(isRecord(event.sender) ? event.sender.id : undefined),
				phone,
				message: text ?? (list(message.attachments).length ? '[attachment]' : undefined),
				raw: event,
			});
		}
	}
	return { drafts, events };
}
