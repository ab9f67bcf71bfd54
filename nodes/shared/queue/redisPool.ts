import { createHash } from 'node:crypto';

import type Redis from 'ioredis';

import { closeRedis, connectRedis, type RedisCredentialData, type RedisRole } from './redis';

/**
 * Command connections shared by the executions of one n8n process, one per credential.
 *
 * A filter-queue batch runs three of the pack's nodes; each used to connect (TCP + HELLO/SELECT)
 * and QUIT once per execution. ioredis multiplexes concurrent commands, pipelines and MULTI blocks
 * on one socket, and the pack issues no connection-scoped commands (WATCH, SUBSCRIBE, BLOCK) on
 * command connections, so parallel executions can share one. A connection nobody has borrowed for
 * `idleMs` is closed (an idle n8n holds nothing open). A connection that is not ready when borrowed
 * (Redis restarted, network cut) is dropped and a fresh one connected, so a borrower gets the same
 * clear "Could not connect to Redis: <reason>" a fresh connect gives. An edited credential has
 * other contents, hence another key: it is used at once.
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
	async closeAll(): Promise<void> {
		const all = [...entries.values()];
		entries.clear();
		await Promise.all(all.map(async (e) => {
			clearTimeout(e.idleTimer);
			await closeRedis(await e.client.catch(() => undefined));
		}));
	},
};

// The key is a digest: the pool never keeps a password as a map key.
const keyOf = (cred: RedisCredentialData, role: PooledRole) => createHash('sha256').update(JSON.stringify([role, cred.connectionType, cred.url, cred.host, cred.port, cred.username, cred.password, cred.database, cred.tls, cred.tlsRejectUnauthorized])).digest('hex');

const nameOf = (role: PooledRole) => (role === 'request' ? sharedRedis.requestConnectionName : sharedRedis.connectionName);

function drop(key: string, entry: Entry): void {
	if (entries.get(key) === entry) entries.delete(key);
	clearTimeout(entry.idleTimer);
	void entry.client.then((client) => closeRedis(client)).catch(() => undefined);
}

export async function borrowRedis(cred: RedisCredentialData, role: PooledRole = 'command'): Promise<BorrowedRedis> {
	const key = keyOf(cred, role);
	let entry = entries.get(key);
	if (entry) {
		const client = await entry.client.catch(() => undefined);
		// Re-read: another borrower may have replaced it while we waited.
		if (entries.get(key) === entry && client?.status !== 'ready') {
			drop(key, entry);
		}
		entry = entries.get(key);
	}
	if (!entry) {
		const created: Entry = { client: connectRedis(cred, role, nameOf(role)), users: 0 };
		entries.set(key, created);
		// A failed connect is not kept: the next borrower tries again.
		created.client.catch(() => {
			if (entries.get(key) === created) entries.delete(key);
		});
		entry = created;
	}
	const mine = entry;
	mine.users++;
	clearTimeout(mine.idleTimer);
	mine.idleTimer = undefined;
	let redis: Redis;
	try {
		redis = await mine.client;
	} catch (error) {
		mine.users--;
		throw error;
	}
	let released = false;
	return {
		redis,
		release() {
			if (released) return;
			released = true;
			mine.users--;
			if (mine.users > 0 || entries.get(key) !== mine) return;
			mine.idleTimer = setTimeout(() => {
				if (mine.users === 0) drop(key, mine);
			}, sharedRedis.idleMs);
		},
	};
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
