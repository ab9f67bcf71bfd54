import type { RedisOptions } from 'ioredis';

/** The fields of the LeadPipelineRedis credential. */
export interface RedisCredentialData {
	connectionType?: 'hostPort' | 'url';
	url?: string;
	host?: string;
	port?: number;
	username?: string;
	password?: string;
	database?: number;
	tls?: boolean;
	tlsRejectUnauthorized?: boolean;
}

/**
 * command: ordinary round trips; fails fast while Redis is away so a caller can answer 503.
 * request: a command connection on a request path (the Lead Trigger's webhook): every command and
 * the connect itself are also bounded in time, because a Redis that is up but stalled (paused,
 * swapping, a long script) keeps the socket open and never answers; the sender gets a 503 instead
 * of a held request.
 * blocking: a dedicated connection for XREADGROUP BLOCK; no per-command timeout, waits out
 * reconnects instead of failing (a consumer loop should survive a Redis restart).
 */
export type RedisRole = 'command' | 'request' | 'blocking';

/** The longest one Redis command (and the connect) may take on a request path before it fails. */
export const REQUEST_COMMAND_TIMEOUT_MS = 2_000;

function backoff(times: number): number {
	return Math.min(50 * 2 ** Math.min(times, 7), 5_000);
}

/** What every connection of a role shares, whatever the credential says. */
function roleOptions(role: RedisRole, connectionName: string | undefined): RedisOptions {
	return {
		lazyConnect: true,
		connectionName,
		connectTimeout: 5_000,
		retryStrategy: backoff,
		...(role === 'blocking'
			? { maxRetriesPerRequest: null, enableOfflineQueue: true }
			: { maxRetriesPerRequest: 1, enableOfflineQueue: false, enableAutoPipelining: true }),
		// A request's commands are never sent again on a new connection: its caller may have been
		// answered 503 by then, and a write after that answer is a lead the caller retries anyway.
		...(role === 'request'
			? { commandTimeout: REQUEST_COMMAND_TIMEOUT_MS, connectTimeout: REQUEST_COMMAND_TIMEOUT_MS, autoResendUnfulfilledCommands: false }
			: {}),
	};
}

/** ioredis options for a role; a URL credential's address and secrets stay in its URL. */
export function redisOptions(
	cred: RedisCredentialData,
	role: RedisRole,
	connectionName?: string,
): RedisOptions {
	const common = roleOptions(role, connectionName);
	if (cred.connectionType === 'url') return common;
	const tls = cred.tls ? { tls: { rejectUnauthorized: cred.tlsRejectUnauthorized !== false } } : {};
	return {
		...common,
		host: cred.host || '127.0.0.1',
		port: Number(cred.port) || 6379,
		username: cred.username || undefined,
		password: cred.password || undefined,
		db: Number(cred.database) || 0,
		...tls,
	};
}
