import type {
	ICredentialDataDecryptedObject,
	ICredentialsDecrypted,
	ICredentialTestFunctions,
	INodeCredentialTestResult,
} from 'n8n-workflow';

import { checkRedis, RedisConnectionError, safeRedisMessage, type RedisCredentialData } from '../shared/redis';

export const REDIS_CREDENTIAL = 'leadPipelineRedis';
export const REDIS_CREDENTIAL_TEST = 'leadPipelineRedisConnectionTest';

export function toRedisCredentialData(data: object | undefined): RedisCredentialData {
	const d = (data ?? {}) as ICredentialDataDecryptedObject;
	return {
		connectionType: d.connectionType === 'url' ? 'url' : 'hostPort',
		url: d.url as string | undefined,
		host: d.host as string | undefined,
		port: d.port as number | undefined,
		username: d.username as string | undefined,
		password: d.password as string | undefined,
		database: d.database as number | undefined,
		tls: d.tls as boolean | undefined,
		tlsRejectUnauthorized: d.tlsRejectUnauthorized as boolean | undefined,
	};
}

/** The credential's Test button: connect, and fail below Redis 6.2 saying why. */
export async function testRedisCredential(
	credential: ICredentialsDecrypted,
): Promise<INodeCredentialTestResult> {
	const data = toRedisCredentialData(credential.data);
	try {
		const { pong } = await checkRedis(data);
		return { status: 'OK', message: `Connected: PING answered ${pong}` };
	} catch (error) {
		const message = error instanceof RedisConnectionError ? error.summary : safeRedisMessage(error, data);
		return { status: 'Error', message };
	}
}

/** `methods.credentialTest` of every node that uses the Redis credential. */
export const redisCredentialTestMethods = {
	async [REDIS_CREDENTIAL_TEST](
		this: ICredentialTestFunctions,
		credential: ICredentialsDecrypted,
	): Promise<INodeCredentialTestResult> {
		return await testRedisCredential(credential);
	},
};
