import type Redis from 'ioredis';

/**
 * The pause flag of one stream + consumer group. Consumers check it once per block interval:
 * while it is set they read nothing new, finish what they hold, and resume when it is cleared.
 * It lives beside the group's other keys (`<stream>:<group>:lastError`).
 */
export function pauseKey(stream: string, group: string): string {
	return `${stream}:${group}:paused`;
}

export interface PauseState {
	stream: string;
	group: string;
	paused: boolean;
	/** Who set the flag (free text: a user, "dashboard", a workflow name). */
	by?: string;
	/** When it was set (ISO). */
	at?: string;
}

function parse(stream: string, group: string, raw: string | null): PauseState {
	if (raw === null) return { stream, group, paused: false };
	try {
		const { by, at } = JSON.parse(raw) as { by?: string; at?: string };
		return { stream, group, paused: true, by, at };
	} catch {
		// Set by hand (`SET filterQueue:g:paused 1`): still a pause.
		return { stream, group, paused: true };
	}
}

/** Sets or clears the flag; returns the state now in force. No expiry: a pause holds until resumed. */
export async function setPaused(
	redis: Redis,
	stream: string,
	group: string,
	paused: boolean,
	by = 'unknown',
	now: Date = new Date(),
): Promise<PauseState> {
	const key = pauseKey(stream, group);
	if (!paused) {
		await redis.del(key);
		return { stream, group, paused: false };
	}
	const at = now.toISOString();
	await redis.set(key, JSON.stringify({ by, at }));
	return { stream, group, paused: true, by, at };
}

/** One EXISTS. Throws what Redis throws (the consumer loop already handles Redis errors). */
export async function isPaused(redis: Redis, stream: string, group: string): Promise<boolean> {
	return (await redis.exists(pauseKey(stream, group))) === 1;
}

/** The flags of several stream + group pairs in one round trip. */
export async function pauseStates(redis: Redis, pairs: Array<{ stream: string; group: string }>): Promise<PauseState[]> {
	if (pairs.length === 0) return [];
	const raw = await redis.mget(...pairs.map((p) => pauseKey(p.stream, p.group)));
	return pairs.map((p, i) => parse(p.stream, p.group, raw[i]));
}
