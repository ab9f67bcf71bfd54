import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';

import Redis from 'ioredis';

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export async function redisAnswers(url: string): Promise<boolean> {
	const client = new Redis(url, { lazyConnect: true, connectTimeout: 1_000, maxRetriesPerRequest: 0, retryStrategy: () => null });
	client.on('error', () => undefined);
	try {
		await client.connect();
		await client.ping();
		return true;
	} catch {
		return false;
	} finally {
		client.disconnect();
	}
}

export async function freePort(): Promise<number> {
	return await new Promise((resolve, reject) => {
		const server = createServer();
		server.once('error', reject);
		server.listen(0, '127.0.0.1', () => {
			const address = server.address();
			server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
		});
	});
}

/** Starts a throwaway redis-server on a free loopback port (no persistence). */
export async function startRedisServer(): Promise<{ url: string; process: ChildProcess }> {
	if (spawnSync('redis-server', ['--version']).status !== 0) {
		throw new Error('No Redis answers at REDIS_URL and redis-server is not on PATH');
	}
	const port = await freePort();
	const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
		stdio: 'ignore',
		detached: false,
	});
	const url = `redis://127.0.0.1:${port}`;
	for (let i = 0; i < 50; i++) {
		if (await redisAnswers(url)) return { url, process: child };
		await new Promise((r) => setTimeout(r, 100));
	}
	child.kill('SIGKILL');
	throw new Error(`redis-server on port ${port} did not answer`);
}
