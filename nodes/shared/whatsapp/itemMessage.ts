import { MessageInputError, type OutgoingMessage, type TemplateButton, type TemplateParameter } from './graphPayload';

/**
 * A message carried on the item itself: what WhatsApp Send puts on a deferred item
 * (`whatsApp.message`), queued with the lead so a later send sends that same message (same
 * template, same parameters, so the same content hash and idempotency claim) instead of the node's
 * own. Read from a dot path; an object or its JSON string.
 */

const FIELD = 'Message From Item Field';

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function at(item: Record<string, unknown>, path: string): unknown {
	let value: unknown = item;
	for (const part of path.split('.')) {
		if (!isRecord(value)) return undefined;
		value = value[part];
	}
	return value;
}

const bad = (path: string, why: string) => new MessageInputError(FIELD, `("${path}") ${why}`);

function parameters(value: unknown, path: string, where: string): TemplateParameter[] {
	if (value === undefined) return [];
	if (!Array.isArray(value)) throw bad(path, `has ${where} that is not a list`);
	return value.map((p) => {
		if (!isRecord(p) || typeof p.text !== 'string') throw bad(path, `has a ${where} parameter without text`);
		return { text: p.text, ...(typeof p.name === 'string' && p.name ? { name: p.name } : {}) };
	});
}

function buttons(value: unknown, path: string): TemplateButton[] {
	if (value === undefined) return [];
	if (!Array.isArray(value)) throw bad(path, 'has buttons that are not a list');
	return value.map((b) => {
		if (!isRecord(b) || (b.subType !== 'quick_reply' && b.subType !== 'url') || typeof b.index !== 'number' || typeof b.value !== 'string') {
			throw bad(path, 'has a button that is not {subType, index, value}');
		}
		return { subType: b.subType, index: b.index, value: b.value };
	});
}

/** The message at `path`, or undefined when the path is empty or holds nothing. */
export function messageAtPath(item: Record<string, unknown>, path: string): OutgoingMessage | undefined {
	const trimmed = path.trim();
	if (!trimmed) return undefined;
	let value = at(item, trimmed);
	if (value === undefined || value === null || value === '') return undefined;
	if (typeof value === 'string') {
		try {
			value = JSON.parse(value);
		} catch {
			throw bad(trimmed, 'holds text that is not a JSON message');
		}
	}
	if (!isRecord(value)) throw bad(trimmed, 'holds no message object');
	if (value.kind === 'text') {
		if (typeof value.body !== 'string') throw bad(trimmed, 'holds a text message without a body');
		return { kind: 'text', body: value.body, previewUrl: value.previewUrl === true };
	}
	if (value.kind !== 'template') throw bad(trimmed, `holds a message of kind "${String(value.kind)}", not text or template`);
	if (typeof value.name !== 'string' || typeof value.language !== 'string') throw bad(trimmed, 'holds a template without name and language');
	return {
		kind: 'template',
		name: value.name,
		language: value.language,
		header: parameters(value.header, trimmed, 'header'),
		body: parameters(value.body, trimmed, 'body'),
		buttons: buttons(value.buttons, trimmed),
	};
}
