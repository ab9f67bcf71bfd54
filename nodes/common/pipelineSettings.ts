import type Redis from 'ioredis';
import { type ICredentialDataDecryptedObject, type IExecuteFunctions, NodeOperationError } from 'n8n-workflow';

import { borrowRedis, type BorrowedRedis } from '../shared/queue';
import { effectiveTimeZone, pipelineSettingsFrom, SettingsError, withOverrides, type PipelineSettings, type SettingsOverrides } from '../shared/lead';
import { type LeadStore, MongoLeadStore, RedisLeadStore } from '../shared/store';
import { safeMongoMessage } from './mongoCredential';
import { cachedCredentials } from './credentialCache';
import { REDIS_CREDENTIAL, toRedisCredentialData } from './redisCredential';

/**
 * The n8n face of nodes/shared/settings.ts: reads the Pipeline Settings from the Lead Pipeline
 * Redis credential (the one place a user sets them) and opens the lead store they name.
 */

function settingsError(ctx: IExecuteFunctions, error: unknown): never {
	if (error instanceof SettingsError) {
		throw new NodeOperationError(ctx.getNode(), `Pipeline Settings: ${error.message}`, {
			description: `Fix "${error.field}" under Pipeline Settings in the Lead Pipeline Redis credential (or the node's override).`,
		});
	}
	throw error;
}

/** Settings from the credential, a node's overrides applied, the time zone resolved. */
export async function readPipelineSettings(ctx: IExecuteFunctions, overrides: SettingsOverrides = {}): Promise<{ settings: PipelineSettings; credential: ICredentialDataDecryptedObject }> {
	const credential = await cachedCredentials(ctx, REDIS_CREDENTIAL);
	try {
		const settings = withOverrides(pipelineSettingsFrom(credential), overrides, credential);
		return { settings: { ...settings, timeZone: effectiveTimeZone(settings, ctx.getTimezone()) }, credential };
	} catch (error) {
		return settingsError(ctx, error);
	}
}

export interface OpenPipeline {
	settings: PipelineSettings;
	/** Always open: queues (XADD), round-robin counters and ex-client sets live in Redis. */
	redis: Redis;
	store: LeadStore;
	close(): Promise<void>;
}

async function openMongo(ctx: IExecuteFunctions, settings: PipelineSettings): Promise<LeadStore> {
	const mongo = settings.mongo!;
	try {
		return await MongoLeadStore.connect(mongo.connectionString, mongo.database);
	} catch (error) {
		throw new NodeOperationError(ctx.getNode(), 'Could not connect to MongoDB', {
			description: `${safeMongoMessage(error, mongo)}. Check the MongoDB connection string under Pipeline Settings in the Lead Pipeline Redis credential.`,
		});
	}
}

/** Opens Redis and the lead store the settings name; close() releases both. */
export async function openPipeline(ctx: IExecuteFunctions, overrides: SettingsOverrides = {}): Promise<OpenPipeline> {
	const { settings, credential } = await readPipelineSettings(ctx, overrides);
	let borrowed: BorrowedRedis;
	try {
		borrowed = await borrowRedis(toRedisCredentialData(credential));
	} catch (error) {
		throw new NodeOperationError(ctx.getNode(), error as Error);
	}
	const redis = borrowed.redis;
	let store: LeadStore;
	try {
		store = settings.leadStore === 'mongodb' ? await openMongo(ctx, settings) : new RedisLeadStore(redis);
	} catch (error) {
		borrowed.release();
		throw error instanceof NodeOperationError ? error : new NodeOperationError(ctx.getNode(), error as Error);
	}
	return {
		settings,
		redis,
		store,
		async close() {
			try {
				await store.close();
			} finally {
				borrowed.release();
			}
		},
	};
}
