// Where a channel finds a lead's fields in a body: set on the Lead Trigger, defaults beside each
// channel. A file of their own so the channels and the draft types share them without a cycle.

/** Website form fields (website.ts). */
export interface FormFieldMapping {
	name: string;
	phone: string;
	email: string;
	destination: string;
	message: string;
}

/** WhatsApp-bot fields (bot.ts). */
export interface BotFieldMapping {
	botId: string;
	messageId: string;
	name: string;
	phone: string;
	email: string;
	destination: string;
	answers: string;
}
