import type { ChildProcess } from 'node:child_process';

export default async function globalTeardown(): Promise<void> {
	const started = (globalThis as { __leadPipelineRedis?: ChildProcess }).__leadPipelineRedis;
	started?.kill('SIGTERM');
}
