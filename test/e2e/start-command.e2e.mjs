// README's first command as a person runs it: `npm start` on a machine whose Redis is not where
// REDIS_URL says (so the command starts its own redis-server), then Ctrl-C in the terminal — a
// SIGINT to the whole process group. Everything it started must be gone afterwards.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

import { freePort, ROOT } from '../../scripts/n8n-rig.mjs';

function portOpen(port) {
	return new Promise((resolve) => {
		const socket = connect({ host: '127.0.0.1', port });
		socket.once('connect', () => {
			socket.destroy();
			resolve(true);
		});
		socket.once('error', () => resolve(false));
	});
}

test('npm start prints what it started and Ctrl-C stops all of it', { timeout: 900_000 }, async () => {
	const [n8nPort, absentRedisPort, ownRedisPort] = [await freePort(), await freePort(), await freePort()];
	const home = mkdtempSync(join(tmpdir(), 'lead-pipeline-home-'));
	const child = spawn('npm', ['start'], {
		cwd: ROOT,
		detached: true, // its own process group, like a terminal job
		env: {
			...process.env,
			LEAD_PIPELINE_HOME: home,
			N8N_PORT: String(n8nPort),
			REDIS_URL: `redis://127.0.0.1:${absentRedisPort}`,
			LEAD_PIPELINE_REDIS_PORT: String(ownRedisPort),
		},
		stdio: ['ignore', 'pipe', 'pipe'],
	});
	let output = '';
	child.stdout.on('data', (c) => (output += c));
	child.stderr.on('data', (c) => (output += c));
	const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

	const deadline = Date.now() + 840_000;
	while (!output.includes('Ctrl+C stops everything')) {
		assert.equal(child.exitCode, null, `npm start exited early:\n${output.slice(-4000)}`);
		assert.ok(Date.now() < deadline, `npm start did not get ready:\n${output.slice(-4000)}`);
		await new Promise((r) => setTimeout(r, 500));
	}
	assert.match(output, new RegExp(`Editor: http://127\\.0\\.0\\.1:${n8nPort}`));
	assert.match(output, new RegExp(`Started: redis-server \\(pid \\d+, 127\\.0\\.0\\.1:${ownRedisPort}\\); n8n \\(pid \\d+`));
	assert.equal(await portOpen(n8nPort), true);
	assert.equal(await portOpen(ownRedisPort), true);

	process.kill(-child.pid, 'SIGINT');
	const { code, signal } = await exited;
	// npm re-raises the SIGINT it got (as it does in a terminal); the command itself exits 0.
	assert.ok(code === 0 || signal === 'SIGINT', `npm start ended with ${code ?? signal}:\n${output.slice(-4000)}`);
	assert.match(output, /stopping n8n \(pid \d+/);
	assert.match(output, /stopping redis-server/);
	// The child's exit can come a moment before its children's sockets close.
	for (let i = 0; i < 50 && ((await portOpen(n8nPort)) || (await portOpen(ownRedisPort))); i++) {
		await new Promise((r) => setTimeout(r, 200));
	}
	assert.equal(await portOpen(n8nPort), false, 'n8n still listening after Ctrl-C');
	assert.equal(await portOpen(ownRedisPort), false, 'redis-server still listening after Ctrl-C');
});
