import Redis from 'ioredis';

import { RedisConnectionError, safeRedisMessage } from './errors';
import { REQUEST_COMMAND_TIMEOUT_MS, redisOptions, type RedisCredentialData, type RedisRole } from './settings';

/**
 * Opening and closing one Redis connection. Nothing here keeps a client: the one cache of
 * connections is ./pool.
 */

export function createRedis(
	cred: RedisCredentialData,
	role: RedisRole = 'command',
	connectionName?: string,
): Redis {
	const options = redisOptions(cred, role, connectionName);
	if (cred.connectionType === 'url') {
		if (!cred.url) throw new RedisConnectionError('the credential has no connection URL');
		return new Redis(cred.url, options);
	}
	return new Redis(options);
}

/**
 * connect(), failing after timeoutMs: connectTimeout covers the TCP connect only, and a stalled Redis
 * accepts the connection (the kernel does) but never answers the ready check that follows.
 */
async function connectWithin(client: Redis, timeoutMs: number | undefined): Promise<void> {
	if (timeoutMs === undefined) {
		await client.connect();
		return;
	}
	let timer: NodeJS.Timeout | undefined;
	const late = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new Error(`Redis accepted the connection but did not answer within ${timeoutMs} ms (stalled or overloaded)`)), timeoutMs);
	});
	try {
		await Promise.race([client.connect(), late]);
	} finally {
		clearTimeout(timer);
	}
}

/** Opens a connection and waits until it is ready; on failure nothing is left reconnecting. */
export async function connectRedis(
	cred: RedisCredentialData,
	role: RedisRole = 'command',
	connectionName?: string,
): Promise<Redis> {
	const client = createRedis(cred, role, connectionName);
	// connect() itself rejects with a bare "Connection is closed"; the socket's own error
	// (ECONNREFUSED, WRONGPASS, …) is what tells a user what to fix.
	let socketError: unknown;
	client.on('error', (error) => {
		socketError ??= error;
	});
	try {
		await connectWithin(client, role === 'request' ? REQUEST_COMMAND_TIMEOUT_MS : undefined);
		return client;
	} catch (error) {
		// A reconnect may already be scheduled by the time we get here: forbid it, then close.
		client.options.retryStrategy = () => null;
		client.disconnect();
		throw new RedisConnectionError(safeRedisMessage(socketError ?? error, cred));
	}
}

/** QUIT politely, but never wait longer than timeoutMs (a blocked or dead socket is cut). */
export async function closeRedis(client: Redis | undefined, timeoutMs = 1_000): Promise<void> {
	if (!client || client.status === 'end') return;
	if (client.status !== 'ready') {
		client.disconnect();
		return;
	}
	let timer: NodeJS.Timeout | undefined;
	const cut = new Promise<void>((resolve) => {
		timer = setTimeout(() => {
			client.disconnect();
			resolve();
		}, timeoutMs);
	});
	await Promise.race([client.quit().then(() => undefined, () => client.disconnect()), cut]);
	clearTimeout(timer);
}

/** A connection of its own for the length of one task (not shared: see ./pool for that). */
export async function withRedis<T>(
	cred: RedisCredentialData,
	task: (client: Redis) => Promise<T>,
	connectionName = 'lead-pipeline',
): Promise<T> {
	const client = await connectRedis(cred, 'command', connectionName);
	try {
		return await task(client);
	} finally {
		await closeRedis(client);
	}
}
