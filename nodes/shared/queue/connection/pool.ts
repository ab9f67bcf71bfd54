import type Redis from 'ioredis';

import { closeRedis, connectRedis } from './connect';
import { poolKeyOf } from './poolKey';
import type { RedisCredentialData, RedisRole } from './settings';

/**
 * The one cache of Redis clients: command connections shared by the executions of one n8n
 * process, one per credential and role.
 *
 * A filter-queue batch runs three of the pack's nodes; each used to connect (TCP + HELLO/SELECT)
 * and QUIT once per execution. ioredis multiplexes concurrent commands, pipelines and MULTI blocks
 * on one socket, and the pack issues no connection-scoped commands (WATCH, SUBSCRIBE, BLOCK) on
 * command connections, so parallel executions can share one. A connection nobody has borrowed for
 * `idleMs` is closed (an idle n8n holds nothing open). A connection that is not ready when borrowed
 * (Redis restarted, network cut) is dropped and a fresh one connected, so a borrower gets the same
 * clear "Could not connect to Redis: <reason>" a fresh connect gives. An edited credential has
 * other contents, hence another key (./poolKey): it is used at once.
 *
 * The role is part of the key: a request path (the Lead Trigger's webhook) borrows a `request`
 * connection, whose commands time out (see RedisRole), so a stalled Redis fails its commands
 * instead of holding the request; the nodes that run inside executions keep `command` connections
 * without that timeout. Blocking reads never come from the pool (the consumer owns its own).
 */
export type PooledRole = Exclude<RedisRole, 'blocking'>;

export interface BorrowedRedis {
	redis: Redis;
	/** Give it back; calling it again does nothing. */
	release(): void;
}

interface Entry {
	client: Promise<Redis>;
	users: number;
	idleTimer?: NodeJS.Timeout;
}

const entries = new Map<string, Entry>();

export const sharedRedis = {
	/** Long enough to span the gap between batches under load; short enough not to hold sockets. */
	idleMs: 5_000,
	connectionName: 'n8n-lead-pipeline:shared',
	/** The name a request-path connection gives itself (CLIENT LIST shows which is which). */
	requestConnectionName: 'n8n-lead-pipeline:intake',
	size: () => entries.size,
	/** The cache's keys (digests only), for tests and diagnostics. */
	keys: () => [...entries.keys()],
	async closeAll(): Promise<void> {
		const all = [...entries.values()];
		entries.clear();
		await Promise.all(all.map(async (e) => {
			clearTimeout(e.idleTimer);
			await closeRedis(await e.client.catch(() => undefined));
		}));
	},
};

/** Closes the connections the pool keeps for this process (tests, shutdown). */
export async function closeSharedRedis(): Promise<void> {
	await sharedRedis.closeAll();
}

const nameOf = (role: PooledRole) => (role === 'request' ? sharedRedis.requestConnectionName : sharedRedis.connectionName);

function drop(key: string, entry: Entry): void {
	if (entries.get(key) === entry) entries.delete(key);
	clearTimeout(entry.idleTimer);
	void entry.client.then((client) => closeRedis(client)).catch(() => undefined);
}

/** The cached entry if its connection is still ready; a dead one is dropped. */
async function liveEntry(key: string, entry: Entry): Promise<Entry | undefined> {
	const client = await entry.client.catch(() => undefined);
	// Re-read: another borrower may have replaced it while we waited.
	if (entries.get(key) === entry && client?.status !== 'ready') drop(key, entry);
	return entries.get(key);
}

function connectEntry(key: string, cred: RedisCredentialData, role: PooledRole): Entry {
	const created: Entry = { client: connectRedis(cred, role, nameOf(role)), users: 0 };
	entries.set(key, created);
	// A failed connect is not kept: the next borrower tries again.
	created.client.catch(() => {
		if (entries.get(key) === created) entries.delete(key);
	});
	return created;
}

/** Gives one use back; the last one out starts the idle timer (if the entry is still cached). */
function releaserOf(key: string, entry: Entry): () => void {
	let released = false;
	return () => {
		if (released) return;
		released = true;
		entry.users--;
		if (entry.users > 0 || entries.get(key) !== entry) return;
		entry.idleTimer = setTimeout(() => {
			if (entry.users === 0) drop(key, entry);
		}, sharedRedis.idleMs);
	};
}

export async function borrowRedis(cred: RedisCredentialData, role: PooledRole = 'command'): Promise<BorrowedRedis> {
	const key = poolKeyOf(cred, role);
	const cached = entries.get(key);
	// No await when nothing is cached: concurrent first borrowers must find the entry the first one
	// put in the map, or each would open a connection of its own.
	const entry = (cached ? await liveEntry(key, cached) : undefined) ?? connectEntry(key, cred, role);
	entry.users++;
	clearTimeout(entry.idleTimer);
	entry.idleTimer = undefined;
	let redis: Redis;
	try {
		redis = await entry.client;
	} catch (error) {
		entry.users--;
		throw error;
	}
	return { redis, release: releaserOf(key, entry) };
}

/** Borrow the shared connection for the length of one task. */
export async function withSharedRedis<T>(cred: RedisCredentialData, task: (client: Redis) => Promise<T>, role: PooledRole = 'command'): Promise<T> {
	const borrowed = await borrowRedis(cred, role);
	try {
		return await task(borrowed.redis);
	} finally {
		borrowed.release();
	}
}
