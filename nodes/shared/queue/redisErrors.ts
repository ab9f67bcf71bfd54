/** What a user must do about a Redis error, and whether retrying can ever clear it. */
export interface RedisErrorAdvice {
	/** True when retrying will not help (auth, permissions, Redis too old, a key of the wrong type). */
	permanent: boolean;
	/** How to fix it, for an n8n error's `description`. */
	description: string;
}

const text = (error: unknown) => String((error as { message?: string })?.message ?? error);

/** Classifies a Redis error; keys named in `keys` (stream, DLQ) are mentioned in the advice. */
export function adviseOnRedisError(error: unknown, keys: { stream?: string; dlqStream?: string } = {}): RedisErrorAdvice {
	const message = text(error);
	if (/WRONGPASS|NOAUTH|invalid username-password/i.test(message)) {
		return { permanent: true, description: 'Redis refused the credentials: check the user name and password in the Lead Pipeline Redis credential.' };
	}
	if (/NOPERM/.test(message)) {
		return {
			permanent: true,
			description: 'The Redis user lacks a permission the consumer needs (XREADGROUP, XACK, XAUTOCLAIM, XCLAIM, XADD, EVAL, EVALSHA and SCRIPT LOAD on the stream, DLQ and error keys): grant it with ACL SETUSER.',
		};
	}
	if (/unknown command/i.test(message)) {
		return {
			permanent: true,
			description: 'This Redis does not know a command the pack needs (XAUTOCLAIM needs Redis 6.2 or newer): upgrade Redis.',
		};
	}
	if (/WRONGTYPE/.test(message)) {
		const names = [keys.stream, keys.dlqStream].filter(Boolean).join(' or ');
		return {
			permanent: true,
			description: `A key the consumer uses${names ? ` (${names})` : ''} holds another type than a stream: choose another stream name or remove that key.`,
		};
	}
	if (/NOGROUP/.test(message)) {
		return { permanent: false, description: 'The consumer group does not exist (Redis restarted without persistence, or the stream was deleted): the consumer recreates it.' };
	}
	if (/OOM/.test(message)) {
		return { permanent: false, description: 'Redis is out of memory (maxmemory): free memory or raise maxmemory; nothing was written.' };
	}
	return { permanent: false, description: 'Redis could not be reached or refused the command; the consumer keeps retrying with backoff.' };
}
