import type { ICredentialsDecrypted, ICredentialTestFunctions, INodeCredentialTestResult } from 'n8n-workflow';
import { MongoClient } from 'mongodb';

import { checkRedis, RedisConnectionError, safeRedisMessage } from '../shared/queue';
import { pipelineSettingsFrom, type PipelineSettings } from '../shared/lead';
import { safeMongoMessage } from './mongoCredential';
import { REDIS_CREDENTIAL_TEST, toRedisCredentialData } from './redisCredential';

/**
 * The Test button of the Lead Pipeline Redis credential, in one place. n8n runs the `testedBy`
 * method of whichever node it loads first, so every node that uses the credential registers
 * `redisCredentialTestMethods` from here and nothing else under that name: the button then does the
 * same thing whichever node n8n picked.
 *
 * In order: connect + PING, Redis ≥ 6.2 (the consumer needs XAUTOCLAIM; the message says why),
 * the Pipeline Settings fields, and a MongoDB ping when they choose MongoDB as the lead store.
 * Messages go through the safe* helpers so no password or connection string reaches the editor.
 */
export async function testLeadPipelineRedisCredential(credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
	const redisData = toRedisCredentialData(credential.data);
	let redisMessage: string;
	try {
		const { pong } = await checkRedis(redisData);
		// test/e2e/pipeline.e2e.mjs compares this exact text on real n8n.
		redisMessage = `Connected: PING answered ${pong}`;
	} catch (error) {
		const message = error instanceof RedisConnectionError ? error.summary : safeRedisMessage(error, redisData);
		return { status: 'Error', message };
	}
	let settings: PipelineSettings;
	try {
		settings = pipelineSettingsFrom(credential.data);
	} catch (error) {
		return { status: 'Error', message: `Pipeline Settings: ${(error as Error).message}` };
	}
	if (settings.leadStore !== 'mongodb') return { status: 'OK', message: redisMessage };
	const mongo = settings.mongo!;
	const client = new MongoClient(mongo.connectionString, { serverSelectionTimeoutMS: 5_000 });
	try {
		await client.connect();
		await client.db(mongo.database).command({ ping: 1 });
		return { status: 'OK', message: `${redisMessage}; MongoDB ping answered` };
	} catch (error) {
		return { status: 'Error', message: `Redis is fine, MongoDB is not: ${safeMongoMessage(error, mongo)}` };
	} finally {
		await client.close().catch(() => undefined);
	}
}

/** `methods.credentialTest` entry of every node that uses the Lead Pipeline Redis credential. */
export const redisCredentialTestMethods = {
	async [REDIS_CREDENTIAL_TEST](this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
		return await testLeadPipelineRedisCredential(credential);
	},
};
