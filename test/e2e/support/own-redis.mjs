// A redis-server of the test's own on a free port (never the shared one), with an append-only file
// fsynced on every write, so the test can kill it and start it again on the same data the way a
// production Redis with `appendfsync always` restarts.
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import Redis from 'ioredis';

import { freePort } from '../../../scripts/n8n-rig.mjs';

export class OwnRedis {
	static async start() {
		const redis = new OwnRedis(await freePort(), mkdtempSync(join(tmpdir(), 'lead-pipeline-redis-')));
		await redis.spawn();
		return redis;
	}

	constructor(port, dir) {
		this.port = port;
		this.dir = dir;
	}

	get url() {
		return `redis://127.0.0.1:${this.port}`;
	}

	async spawn() {
		this.process = spawn('redis-server', ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--appendfsync', 'always', '--dir', this.dir], { stdio: 'ignore' });
		const probe = new Redis(this.url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
		probe.on('error', () => undefined);
		try {
			for (let i = 0; i < 100; i++) {
				try {
					await probe.connect();
					if ((await probe.ping()) === 'PONG') return;
				} catch {
					probe.disconnect();
				}
				await new Promise((r) => setTimeout(r, 100));
			}
			throw new Error(`redis-server did not start on ${this.port}`);
		} finally {
			probe.disconnect();
		}
	}

	/** SIGKILL: what a crashed or OOM-killed Redis looks like to its clients. */
	async kill() {
		const exited = new Promise((r) => this.process.once('exit', r));
		this.process.kill('SIGKILL');
		await exited;
	}

	/** SIGSTOP: a Redis that is up but answers nothing (paused, swapped out, a long script): sockets stay open. */
	pause() {
		this.process.kill('SIGSTOP');
	}

	resume() {
		this.process.kill('SIGCONT');
	}

	async stop() {
		if (!this.process || this.process.exitCode !== null || this.process.signalCode !== null) return;
		await this.kill();
	}
}
