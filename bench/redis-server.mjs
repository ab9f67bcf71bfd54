// A redis-server of the benchmark's own on a free port, without persistence (as `npm start` starts
// one when no Redis answers): the pipeline's stream names are fixed (filterQueue, syncQueue…), so a
// run on the shared Redis would mix with other runs, and their load with its figures.
import { spawn } from 'node:child_process';

import Redis from 'ioredis';

import { freePort } from '../scripts/n8n-rig.mjs';

export async function startRedisServer() {
	const port = await freePort();
	const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
	const url = `redis://127.0.0.1:${port}`;
	const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
	probe.on('error', () => undefined);
	try {
		for (let i = 0; ; i++) {
			try {
				await probe.connect();
				if ((await probe.ping()) === 'PONG') break;
			} catch {
				probe.disconnect();
			}
			if (i > 100 || child.exitCode !== null) throw new Error(`redis-server did not start on ${port}`);
			await new Promise((r) => setTimeout(r, 100));
		}
	} finally {
		probe.disconnect();
	}
	return {
		url,
		pid: child.pid,
		stop: async () => {
			if (child.exitCode !== null || child.signalCode !== null) return;
			const exited = new Promise((r) => child.once('exit', r));
			child.kill('SIGTERM');
			await exited;
		},
	};
}
