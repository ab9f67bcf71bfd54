import type { Lead } from '../lead';

/**
 * Replay keys: the Redis keys that remember "this lead was already stored" for the replay window.
 *
 * Each kind of id gets its own key space, and every key names what it is scoped by, so one id can
 * never stand in for another:
 * - a channel's own message id (wamid, Instagram mid, a bot's messageId), scoped by channel and
 *   source id (the WhatsApp phone-number id, Instagram account id, or the bot id — two bots may
 *   both send "session-42");
 * - a caller's `Idempotency-Key` header, scoped by channel and source id, in its own space;
 * - a bulk-import row, scoped by its importId (the importId is bound to the content it was first
 *   used with, see bulkImport.ts).
 * Parts are URI-encoded so a ':' inside an id cannot forge another key. Leads of an editor test
 * run have their own space (`lead:seen:test:…`), so a test never hides a production lead.
 */
export const REPLAY_KEY_PREFIX = 'lead:seen';
const TEST_RUN_PREFIX = `${REPLAY_KEY_PREFIX}:test`;

const part = (value: string | number | undefined) => encodeURIComponent(String(value ?? ''));

export function messageReplayKey(channel: string, sourceId: string | undefined, messageId: string): string {
	return `${REPLAY_KEY_PREFIX}:msg:${part(channel)}:${part(sourceId)}:${part(messageId)}`;
}

export function idempotencyReplayKey(channel: string, sourceId: string | undefined, key: string): string {
	return `${REPLAY_KEY_PREFIX}:idem:${part(channel)}:${part(sourceId)}:${part(key)}`;
}

export function importRowReplayKey(importId: string, row: number): string {
	return `${REPLAY_KEY_PREFIX}:import:${part(importId)}:${row}`;
}

/** The one replay key of a lead, if it carries an id to recognise a replay by. */
export function replayKey(lead: Lead): string | undefined {
	const key = productionReplayKey(lead);
	return key && lead.testRun ? TEST_RUN_PREFIX + key.slice(REPLAY_KEY_PREFIX.length) : key;
}

function productionReplayKey(lead: Lead): string | undefined {
	const { channel, id, messageId, idempotencyKey, importId, importRow } = lead.source;
	if (importId !== undefined && importRow !== undefined) return importRowReplayKey(importId, importRow);
	// The channel's own id first: it is what the sender resends; an HTTP retry key is the fallback.
	if (messageId) return messageReplayKey(channel, id, messageId);
	if (idempotencyKey) return idempotencyReplayKey(channel, id, idempotencyKey);
	return undefined;
}
