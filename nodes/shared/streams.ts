import type Redis from 'ioredis';

/** The field every entry carries its JSON payload in (what the existing lead backend uses). */
export const MESSAGE_FIELD = 'message';

export interface TrimOptions {
	/** Cap the stream at about this many entries; 0 or undefined = no cap. */
	maxLen?: number;
	/** MAXLEN ~ (whole macro nodes, cheap) instead of an exact cap. */
	approximate?: boolean;
}

export function encodeMessage(value: unknown): string {
	return typeof value === 'string' ? value : JSON.stringify(value);
}

function xaddArgs(stream: string, message: string, trim: TrimOptions): Array<string | number> {
	const args: Array<string | number> = [stream];
	if (trim.maxLen && trim.maxLen > 0) {
		args.push('MAXLEN', trim.approximate === false ? '=' : '~', Math.floor(trim.maxLen));
	}
	args.push('*', MESSAGE_FIELD, message);
	return args;
}

export interface StreamEntry {
	stream: string;
	message: unknown;
}

export type WriteResult = { ok: true; id: string } | { ok: false; error: Error };

/**
 * Appends the entries in one pipelined round trip. Results come back in input order, one per
 * entry, so a caller can report the entry Redis refused (e.g. WRONGTYPE) and keep the rest.
 */
export async function addEntries(
	redis: Redis,
	entries: StreamEntry[],
	trim: TrimOptions = {},
): Promise<WriteResult[]> {
	if (entries.length === 0) return [];
	const pipeline = redis.pipeline();
	for (const { stream, message } of entries) {
		pipeline.call('XADD', ...xaddArgs(stream, encodeMessage(message), trim));
	}
	const results = (await pipeline.exec()) ?? [];
	return results.map(([error, id]) => (error ? { ok: false, error } : { ok: true, id: id as string }));
}

/** addEntries for one stream; throws on the first refused entry. */
export async function addMessages(
	redis: Redis,
	stream: string,
	messages: unknown[],
	trim: TrimOptions = {},
): Promise<string[]> {
	const results = await addEntries(redis, messages.map((message) => ({ stream, message })), trim);
	return results.map((result, index) => {
		if (!result.ok) throw new Error(`XADD of entry ${index} to ${stream} failed: ${result.error.message}`);
		return result.id;
	});
}

/** Turns XRANGE/XREADGROUP's flat [field, value, …] list into an object. */
export function fieldsToObject(fields: string[] | null | undefined): Record<string, string> {
	const out: Record<string, string> = {};
	if (!fields) return out;
	for (let i = 0; i + 1 < fields.length; i += 2) out[fields[i]] = fields[i + 1];
	return out;
}
