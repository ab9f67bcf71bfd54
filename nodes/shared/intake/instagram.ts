import { findPhoneNumbersInText } from 'libphonenumber-js/max';

import type { CountryCode } from '../lead';
import { isRecord, textOf, type Extracted, type IntakeChannel } from './draft';

const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);

const phoneIn = (text: string | undefined, defaultCountry?: CountryCode) =>
	text ? findPhoneNumbersInText(text, defaultCountry)[0]?.number.number : undefined;

/**
 * Instagram webhooks come in two shapes: entry[].messaging[] (Messenger-style DMs) and
 * entry[].changes[] {field, value} (comments, mentions, and the app dashboard's "messages" test).
 * A message or comment from a person is a lead; the business's own echoes and replies are events;
 * a change that names no person to reach (mentions, leadgen, insights, …) is returned as
 * unsupported with the reason, so the trigger keeps it in the rejected stream instead of dropping it.
 */
export function instagramDrafts(payload: unknown, defaultCountry?: CountryCode): Extracted {
	const out: Required<Extracted> = { drafts: [], events: [], unsupported: [] };
	for (const entry of list(isRecord(payload) ? payload.entry : undefined).filter(isRecord)) {
		const accountId = textOf(entry.id);
		for (const event of list(entry.messaging).filter(isRecord)) readMessaging(out, event, accountId, defaultCountry);
		for (const change of list(entry.changes).filter(isRecord)) readChange(out, change, accountId, defaultCountry);
	}
	if (out.drafts.length + out.events.length + out.unsupported.length === 0) {
		out.unsupported.push({ detail: 'Instagram payload with no entry[].messaging[] or entry[].changes[] the Lead Trigger reads', raw: payload });
	}
	return out;
}

/** The Instagram channel (a signed Meta webhook); phone numbers in text read with the default country. */
export const instagramChannel: IntakeChannel = (body, context) => instagramDrafts(body, context.defaultCountry);

/** A DM event: {sender, recipient, timestamp, message: {mid, text, attachments, is_echo}}. */
function readMessaging(out: Required<Extracted>, event: Record<string, unknown>, accountId: string | undefined, defaultCountry?: CountryCode): void {
	const message = isRecord(event.message) ? event.message : undefined;
	if (!message || message.is_echo === true) {
		out.events.push(event);
		return;
	}
	const text = textOf(message.text);
	out.drafts.push({
		source: { channel: 'INSTAGRAM_BOT', id: accountId, messageId: textOf(message.mid) },
		instagramUserId: textOf(isRecord(event.sender) ? event.sender.id : undefined),
		phone: phoneIn(text, defaultCountry),
		message: text ?? (list(message.attachments).length ? '[attachment]' : undefined),
		raw: event,
	});
}

/** Why a change field is no lead by itself (shown in the rejected entry's detail). */
function unsupportedDetail(field: string, value: unknown): string {
	if (field === 'leadgen') {
		const id = isRecord(value) ? textOf(value.leadgen_id) : undefined;
		return `Instagram "leadgen" change (leadgen_id ${id ?? 'missing'}): it carries only an id; the lead's answers must be fetched from the Graph API (GET /<leadgen_id>) — replay this entry once that is wired, or read it in Meta's Leads Center`;
	}
	if (field === 'mentions') return 'Instagram "mentions" change: it names a media and comment id but no person to reach, so it is kept here for a person to look at';
	return `Instagram change with field "${field}": the Lead Trigger reads "messages" and "comments" changes as leads`;
}

function readChange(out: Required<Extracted>, change: Record<string, unknown>, accountId: string | undefined, defaultCountry?: CountryCode): void {
	const field = textOf(change.field) ?? '(none)';
	const value = change.value;
	if (field === 'messages' && isRecord(value)) {
		readMessaging(out, value, accountId, defaultCountry);
		return;
	}
	if ((field === 'comments' || field === 'live_comments') && isRecord(value)) {
		const from = isRecord(value.from) ? value.from : {};
		const userId = textOf(from.id);
		// The account's own comments (its replies) are no lead, as DM echoes are not.
		if (userId !== undefined && userId === accountId) {
			out.events.push(change);
			return;
		}
		const text = textOf(value.text);
		out.drafts.push({
			source: { channel: 'INSTAGRAM_BOT', id: accountId, messageId: textOf(value.id) },
			instagramUserId: userId,
			phone: phoneIn(text, defaultCountry),
			message: text,
			raw: change,
		});
		return;
	}
	out.unsupported.push({ detail: unsupportedDetail(field, value), raw: change });
}
