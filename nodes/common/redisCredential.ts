import type { ICredentialDataDecryptedObject } from 'n8n-workflow';

import type { RedisCredentialData } from '../shared/queue';

export const REDIS_CREDENTIAL = 'leadPipelineRedis';
/** The credential's Test method; its one implementation is in ./redisCredentialTest.ts. */
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
