/**
 * Request bodies for the WhatsApp Cloud API's POST /{phone-number-id}/messages, as Meta documents
 * them: text (with preview_url) and template (name, language, header/body/button parameters,
 * positional or named).
 */

export interface TextMessage {
	kind: 'text';
	body: string;
	previewUrl: boolean;
}

export interface TemplateParameter {
	text: string;
	/** Named-parameter templates ({{first_name}}) give the placeholder's name. */
	name?: string;
}

export interface TemplateButton {
	/** quick_reply or url */
	subType: 'quick_reply' | 'url';
	index: number;
	/** quick_reply: the payload returned on tap; url: the dynamic URL suffix. */
	value: string;
}

export interface TemplateMessage {
	kind: 'template';
	name: string;
	language: string;
	header: TemplateParameter[];
	body: TemplateParameter[];
	buttons: TemplateButton[];
}

export type OutgoingMessage = TextMessage | TemplateMessage;

export const MAX_TEXT_LENGTH = 4096;

/** A message that cannot be sent as written; `field` names the parameter to fix. */
export class MessageInputError extends Error {
	constructor(
		readonly field: string,
		message: string,
	) {
		super(`${field} ${message}`);
		this.name = 'MessageInputError';
	}
}

/** WhatsApp's recipient form: the digits of the E.164 number, no plus, no spaces. */
export function recipientDigits(raw: string): string {
	const digits = String(raw ?? '').replace(/[\s()\-.]/g, '').replace(/^\+/, '').replace(/^00/, '');
	if (!/^\d{6,15}$/.test(digits)) throw new MessageInputError('To', `"${raw}" is not a phone number in international form (e.g. +972501234567)`);
	return digits;
}

export function validateMessage(message: OutgoingMessage): void {
	if (message.kind === 'text') {
		if (!message.body.trim()) throw new MessageInputError('Text', 'is empty');
		if (message.body.length > MAX_TEXT_LENGTH) throw new MessageInputError('Text', `is ${message.body.length} characters; WhatsApp allows ${MAX_TEXT_LENGTH}`);
		return;
	}
	if (!/^[a-z0-9_]{1,512}$/.test(message.name)) throw new MessageInputError('Template Name', `"${message.name}" is not a template name (lowercase letters, digits and _)`);
	if (!/^[a-z]{2,3}(_[A-Za-z]{2,4})?$/.test(message.language)) throw new MessageInputError('Language Code', `"${message.language}" is not a language code (e.g. en_US, he)`);
	for (const [field, params] of [['Header Parameters', message.header], ['Body Parameters', message.body]] as const) {
		const named = params.filter((p) => p.name).length;
		if (named !== 0 && named !== params.length) throw new MessageInputError(field, 'mix named and positional parameters; name all of them or none');
		for (const p of params) if (p.name !== undefined && !/^[a-z0-9_]+$/.test(p.name)) throw new MessageInputError(field, `"${p.name}" is not a parameter name (lowercase letters, digits and _)`);
	}
}

function parameters(params: TemplateParameter[]) {
	return params.map((p) => ({ type: 'text', ...(p.name ? { parameter_name: p.name } : {}), text: p.text }));
}

/** The JSON body of POST /{phone-number-id}/messages. */
export function graphPayload(to: string, message: OutgoingMessage): Record<string, unknown> {
	const base = { messaging_product: 'whatsapp', recipient_type: 'individual', to: recipientDigits(to) };
	if (message.kind === 'text') {
		return { ...base, type: 'text', text: { preview_url: message.previewUrl, body: message.body } };
	}
	const components: Array<Record<string, unknown>> = [];
	if (message.header.length) components.push({ type: 'header', parameters: parameters(message.header) });
	if (message.body.length) components.push({ type: 'body', parameters: parameters(message.body) });
	for (const button of message.buttons) {
		components.push({
			type: 'button',
			sub_type: button.subType,
			index: String(button.index),
			parameters: [button.subType === 'quick_reply' ? { type: 'payload', payload: button.value } : { type: 'text', text: button.value }],
		});
	}
	return {
		...base,
		type: 'template',
		template: { name: message.name, language: { code: message.language }, ...(components.length ? { components } : {}) },
	};
}

/** The words a channel without templates (QR session) sends for this message. */
export function plainTextOf(message: OutgoingMessage): string | undefined {
	return message.kind === 'text' ? message.body : undefined;
}
