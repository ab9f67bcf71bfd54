import { isRecord, notAnObject, pick, textOf, type ChannelDraft, type IntakeChannel } from './draft';
import type { BotFieldMapping } from './fieldMappings';

/**
 * The generic WhatsApp-bot shape (docs/nodes/lead-trigger.md):
 * { botId, messageId?, name, phone, email?, destination?, answers: { question: answer } }.
 */
export const DEFAULT_BOT_FIELDS: BotFieldMapping = {
	botId: 'botId',
	messageId: 'messageId',
	name: 'name',
	phone: 'phone',
	email: 'email',
	destination: 'destination',
	answers: 'answers',
};

export function botDraft(body: Record<string, unknown>, fields: BotFieldMapping): ChannelDraft {
	const answers = pick(body, fields.answers);
	const summary = isRecord(answers)
		? Object.entries(answers)
				.map(([question, answer]) => `${question}: ${textOf(answer) ?? JSON.stringify(answer)}`)
				.join('\n')
		: undefined;
	return {
		source: { channel: 'WHATSAPP_BOT', id: textOf(pick(body, fields.botId)), messageId: textOf(pick(body, fields.messageId)) },
		name: textOf(pick(body, fields.name)),
		phone: textOf(pick(body, fields.phone)),
		email: textOf(pick(body, fields.email)),
		destination: textOf(pick(body, fields.destination)) ?? textOf(isRecord(answers) ? answers.destination : undefined),
		message: summary,
		raw: body,
	};
}

/** The WhatsApp-bot channel: one bot hand-off is one draft. */
export const botChannel: IntakeChannel = (body, context) =>
	isRecord(body) ? { drafts: [botDraft(body, context.botFields)], events: [] } : notAnObject(body);

export function looksLikeBot(body: unknown): body is Record<string, unknown> {
	return isRecord(body) && ('botId' in body || isRecord(body.answers));
}
