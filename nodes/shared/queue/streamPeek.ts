import type Redis from 'ioredis';

import { fieldsToObject, MESSAGE_FIELD } from './streams';

/** XINFO replies are flat [name, value, …] lists. */
function pairs(reply: unknown[]): Record<string, unknown> {
	const out: Record<string, unknown> = {};
	for (let i = 0; i + 1 < reply.length; i += 2) out[String(reply[i])] = reply[i + 1];
	return out;
}

const isNoSuchKey = (error: unknown) => /no such key/i.test(String((error as Error)?.message));

/**
 * Where the group would read next, without touching it: its last-delivered-id, or for a group that
 * does not exist yet, where it would be created (startId '0': the beginning, '$': the end).
 */
async function peekPosition(redis: Redis, o: { stream: string; group: string; startId: string }): Promise<string> {
	try {
		const groups = ((await redis.call('XINFO', 'GROUPS', o.stream)) as unknown[][]).map(pairs);
		const group = groups.find((g) => g.name === o.group);
		if (group) return String(group['last-delivered-id']);
		if (o.startId === '0') return '0-0';
		const stream = pairs((await redis.call('XINFO', 'STREAM', o.stream)) as unknown[]);
		return String(stream['last-generated-id'] ?? '0-0');
	} catch (error) {
		if (isNoSuchKey(error)) return '0-0';
		throw error;
	}
}

export interface PeekedEntry {
	id: string;
	fields: Record<string, string>;
}

/**
 * The editor's test run: the next entries the group has not delivered yet, read with XRANGE/XREAD
 * only. No consumer is registered, nothing becomes pending, nothing is acknowledged, claimed,
 * dead-lettered or created: the production group is exactly as it was. Waits (in blockMs slices)
 * for an entry when there is none, until `stopped()` says the editor stopped listening.
 */
export async function peekUndelivered(
	command: Redis,
	blocking: Redis,
	o: { stream: string; group: string; startId: string; count: number; blockMs: number; stopped: () => boolean },
): Promise<PeekedEntry[]> {
	const after = await peekPosition(command, o);
	const toEntries = (raw: Array<[string, string[]]>) => raw.map(([id, fields]) => ({ id, fields: fieldsToObject(fields) }));
	const ready = (await command.xrange(o.stream, `(${after}`, '+', 'COUNT', o.count)) as Array<[string, string[]]>;
	if (ready.length) return toEntries(ready);
	while (!o.stopped()) {
		const reply = (await blocking.call('XREAD', 'COUNT', o.count, 'BLOCK', o.blockMs, 'STREAMS', o.stream, after)) as
			| Array<[string, Array<[string, string[]]>]>
			| null;
		const found = reply?.[0]?.[1] ?? [];
		if (found.length) return toEntries(found);
	}
	return [];
}

/** An item of a test run: what a real delivery would carry, marked `testRun` and never delivered. */
export function testRunMessage(entry: PeekedEntry, stream: string, parseJson: boolean) {
	const out: { id: string; stream: string; deliveryCount: number; message: unknown; testRun: true; parseError?: string } = {
		id: entry.id,
		stream,
		deliveryCount: 0,
		message: entry.fields,
		testRun: true,
	};
	if (parseJson && MESSAGE_FIELD in entry.fields) {
		try {
			out.message = JSON.parse(entry.fields[MESSAGE_FIELD]);
		} catch (error) {
			out.message = entry.fields[MESSAGE_FIELD];
			out.parseError = `message is not valid JSON: ${(error as Error).message}`;
		}
	}
	return out;
}
