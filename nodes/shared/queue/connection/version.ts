import { withRedis } from './connect';
import type { RedisCredentialData } from './settings';

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

// The credential Test button connects afresh (own connection, not the pool): what a user just
// edited is what they test, and a failed test leaves nothing cached.
export async function pingRedis(cred: RedisCredentialData): Promise<string> {
	return await withRedis(cred, async (client) => await client.ping(), 'lead-pipeline-test');
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
