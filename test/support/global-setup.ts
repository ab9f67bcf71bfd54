import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { DEFAULT_REDIS_URL, redisAnswers, startRedisServer } from './redis-server';

// Runs once before all test files; env set here reaches every test worker.
export default async function globalSetup(): Promise<void> {
	// n8n-core writes an encryption key into the user folder: keep it out of $HOME.
	process.env.N8N_USER_FOLDER ??= mkdtempSync(join(tmpdir(), 'lead-pipeline-n8n-'));
	const url = process.env.REDIS_URL ?? DEFAULT_REDIS_URL;
	if (await redisAnswers(url)) {
		process.env.REDIS_URL = url;
		return;
	}
	const started = await startRedisServer();
	process.env.REDIS_URL = started.url;
	(globalThis as { __leadPipelineRedis?: unknown }).__leadPipelineRedis = started.process;
	process.stdout.write(`\nNo Redis at ${url}: started redis-server at ${started.url}\n`);
}
