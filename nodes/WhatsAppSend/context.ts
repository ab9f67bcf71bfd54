import type Redis from 'ioredis';
import { type ICredentialDataDecryptedObject, type IExecuteFunctions, NodeOperationError } from 'n8n-workflow';

import { cachedCredentials } from '../common/credentialCache';
import { readPipelineSettings } from '../common/pipelineSettings';
import { toRedisCredentialData } from '../common/redisCredential';
import { borrowRedis, type BorrowedRedis } from '../shared/queue';
import { type CloudApiConfig, type QrSessionConfig, whatsAppKeys, MessageLog, OutreachCounters } from '../shared/whatsapp';

export const WHATSAPP_CREDENTIAL = 'leadPipelineWhatsAppApi';
export const QR_CREDENTIAL = 'leadPipelineQrSessionApi';

const DAY_MS = 86_400_000;

export interface WhatsAppStore {
	redis: Redis;
	log: MessageLog;
	counters: OutreachCounters;
	/** The Pipeline Settings' time zone, else n8n's. */
	timeZone: string;
	/** The Pipeline Settings' namespace (message log, counters, metrics). */
	namespace: string;
	close(): Promise<void>;
}

/**
 * Opens Redis and reads the namespace and time zone a user sets once on the Lead Pipeline Redis
 * credential (Pipeline Settings); an empty time zone there means n8n's.
 */
export async function openWhatsAppStore(ctx: IExecuteFunctions, logDays = 30): Promise<WhatsAppStore> {
	const { settings, credential } = await readPipelineSettings(ctx);
	let borrowed: BorrowedRedis;
	try {
		borrowed = await borrowRedis(toRedisCredentialData(credential as object));
	} catch (error) {
		throw new NodeOperationError(ctx.getNode(), error as Error);
	}
	const redis = borrowed.redis;
	const keys = whatsAppKeys(settings.namespace);
	return {
		redis,
		log: new MessageLog(redis, keys, logDays * DAY_MS),
		counters: new OutreachCounters(redis, keys),
		timeZone: settings.timeZone,
		namespace: settings.namespace,
		close: async () => borrowed.release(),
	};
}

async function optionalCredentials(ctx: IExecuteFunctions, name: string): Promise<ICredentialDataDecryptedObject | undefined> {
	try {
		return await cachedCredentials(ctx, name);
	} catch {
		return undefined;
	}
}

const text = (v: unknown) => (typeof v === 'string' ? v.trim() : '');

export async function cloudApiConfig(ctx: IExecuteFunctions, allowInternal: boolean, timeoutMs: number): Promise<CloudApiConfig | undefined> {
	const c = await optionalCredentials(ctx, WHATSAPP_CREDENTIAL);
	if (!c) return undefined;
	const config = {
		baseUrl: text(c.baseUrl) || 'https://graph.facebook.com',
		version: text(c.graphApiVersion) || 'v21.0',
		phoneNumberId: text(c.phoneNumberId),
		accessToken: text(c.accessToken),
		allowInternal,
		timeoutMs,
	};
	for (const [field, value] of [['Phone Number ID', config.phoneNumberId], ['Access Token', config.accessToken]] as const) {
		if (!value) {
			throw new NodeOperationError(ctx.getNode(), `The WhatsApp credential has no ${field}`, { description: `Fill in "${field}" in the Lead Pipeline WhatsApp API credential: sending needs it.` });
		}
	}
	return config;
}

export async function qrSessionConfig(ctx: IExecuteFunctions, timeoutMs: number): Promise<QrSessionConfig | undefined> {
	const c = await optionalCredentials(ctx, QR_CREDENTIAL);
	if (!c) return undefined;
	return { baseUrl: text(c.baseUrl), apiKey: text(c.apiKey), sessionId: text(c.sessionId) || 'default', allowInternal: c.allowInternal === true, timeoutMs };
}
