import type { RedisCredentialData } from './settings';

/**
 * `message` is what a user sees first; `description` (which n8n's NodeOperationError copies from
 * any error it wraps) is the driver's reason, secrets removed (ECONNREFUSED, WRONGPASS, …).
 */
export class RedisConnectionError extends Error {
	constructor(readonly description: string) {
		super('Could not connect to Redis');
		this.name = 'RedisConnectionError';
	}

	/** One line for logs and credential tests. */
	get summary(): string {
		return `${this.message}: ${this.description}`;
	}
}

/** Removes anything credential-like from a driver message before it reaches a log or an item. */
export function safeRedisMessage(error: unknown, cred: RedisCredentialData): string {
	// Not `instanceof Error`: socket errors can come from another realm (vm contexts, test sandboxes).
	const raw = (error as { message?: unknown })?.message;
	let message = typeof raw === 'string' ? raw : String(error);
	for (const secret of [cred.password, cred.url]) {
		if (secret) message = message.split(secret).join('***');
	}
	return message.replace(/(rediss?:\/\/)[^@\s]*@/g, '$1***@');
}
