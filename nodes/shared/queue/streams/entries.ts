/** The field every entry carries its JSON payload in (what the existing lead backend uses). */
export const MESSAGE_FIELD = 'message';

export function encodeMessage(value: unknown): string {
	return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Turns XRANGE/XREADGROUP's flat [field, value, …] list into an object. */
export function fieldsToObject(fields: string[] | null | undefined): Record<string, string> {
	const out: Record<string, string> = {};
	if (!fields) return out;
	for (let i = 0; i + 1 < fields.length; i += 2) out[fields[i]] = fields[i + 1];
	return out;
}

export interface StreamEntry {
	stream: string;
	message: unknown;
}

export type WriteResult = { ok: true; id: string } | { ok: false; error: Error };

/** ioredis pipeline/EXEC replies are [error, value] pairs and never throw: check each one. */
export function firstError(replies: Array<[Error | null, unknown]> | null | undefined): Error | undefined {
	if (!replies) return new Error('Redis discarded the transaction (EXEC returned nil)');
	return replies.find(([error]) => error)?.[0] ?? undefined;
}
