import Redis, { type RedisOptions } from 'ioredis';

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

function backoff(times: number): number {
	return Math.min(50 * 2 ** Math.min(times, 7), 5_000);
}

export function redisOptions(
	cred: RedisCredentialData,
	role: RedisRole,
	connectionName?: string,
): RedisOptions {
	const common: RedisOptions = {
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

/** Borrow a command connection for the length of one task. */
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

export async function pingRedis(cred: RedisCredentialData): Promise<string> {
	return await withRedis(cred, async (client) => await client.ping(), 'lead-pipeline-test');
}

/** The oldest Redis the pack runs on: the consumer needs XAUTOCLAIM (6.2). */
export const MIN_REDIS_VERSION = '6.2.0';

/** `redis_version` from an INFO server reply, or undefined when it is missing. */
export function redisVersionOf(info: string): string | undefined {
	return /^redis_version:([^\r\n]+)/m.exec(info)?.[1]?.trim();
}

/** Why this Redis is too old for the pack, or undefined when it is recent enough. */
export function redisVersionProblem(version: string | undefined): string | undefined {
	if (!version) return 'Redis did not report its version (INFO server has no redis_version)';
	const [major, minor] = version.split('.').map((part) => Number.parseInt(part, 10));
	if (!Number.isFinite(major) || !Number.isFinite(minor)) return `Redis reported an unreadable version "${version}"`;
	if (major > 6 || (major === 6 && minor >= 2)) return undefined;
	return `Redis ${version} is older than ${MIN_REDIS_VERSION}: the stream consumer needs XAUTOCLAIM, which Redis added in 6.2. Upgrade Redis.`;
}

/** Connects, PINGs and checks the version; throws with the reason when Redis is too old. */
export async function checkRedis(cred: RedisCredentialData): Promise<{ pong: string; version: string }> {
	return await withRedis(
		cred,
		async (client) => {
			const pong = await client.ping();
			const version = redisVersionOf(await client.info('server'));
			const problem = redisVersionProblem(version);
			if (problem) throw new Error(problem);
			return { pong, version: version! };
		},
		'lead-pipeline-test',
	);
}

/**
 * Closes the connections the pool (./redisPool) keeps for this process (tests, shutdown). Loaded on
 * demand: the pool imports this module.
 */
export async function closeSharedRedis(): Promise<void> {
	const { sharedRedis } = await import('./redisPool');
	await sharedRedis.closeAll();
}
