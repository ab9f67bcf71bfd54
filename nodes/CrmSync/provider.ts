import type Redis from 'ioredis';
import { type IDataObject, type IExecuteFunctions, NodeOperationError } from 'n8n-workflow';

import { cachedCredentials } from '../common/credentialCache';
import { crmProviderEntry, isCrmProviderName, LocalRateLimiter, RedisRateLimiter, UnknownCrmProviderError, type BuiltCrmProvider, type CrmProviderEntry, type FieldMapping, type ProviderTransport, type RateLimit, type RateLimiter } from '../shared/crm';

function mappings(ctx: IExecuteFunctions, name: string): FieldMapping[] {
	const value = ctx.getNodeParameter(name, 0, {}) as { mappings?: FieldMapping[] };
	return (value.mappings ?? []).map((m) => ({ field: String(m.field ?? ''), value: String(m.value ?? '') }));
}

function limiterFor(redis: Redis, shared: boolean, key: string, rate: RateLimit, maxWaitMs: number): RateLimiter {
	return shared ? new RedisRateLimiter(redis, `lead-pipeline:crm-rate:${key}`, rate, undefined, maxWaitMs) : new LocalRateLimiter(key, rate, undefined, maxWaitMs);
}

export interface BuiltProvider extends BuiltCrmProvider {
	defaultOwner?: { crmUserId: string };
}

/** The registry entry the Provider parameter names; an unknown name fails the node with what is known. */
function entryFor(ctx: IExecuteFunctions, providerName: string): CrmProviderEntry {
	if (!isCrmProviderName(providerName)) {
		throw new NodeOperationError(ctx.getNode(), new UnknownCrmProviderError(providerName).message, { description: 'Choose a provider in the Provider parameter.' });
	}
	return crmProviderEntry(providerName);
}

/**
 * The provider the node's parameters and credential name, with its rate limiter and retry policy.
 * `maxWaitMs` bounds every wait inside the execution (backoff, Retry-After, a rate-limit slot).
 */
export async function buildProvider(ctx: IExecuteFunctions, redis: Redis, options: IDataObject, maxWaitMs: number): Promise<BuiltProvider> {
	const entry = entryFor(ctx, ctx.getNodeParameter('provider', 0) as string);
	const rate: RateLimit = { limit: Math.max(1, Math.floor(Number(options.rateLimit ?? 5))), windowMs: Math.round(Number(options.rateWindowSeconds ?? 5) * 1000) };
	const shared = options.sharedRateLimit !== false;
	const transport = (key: string, allowInternal: boolean): ProviderTransport => ({
		limiter: limiterFor(redis, shared, key, rate, maxWaitMs),
		attempts: Math.max(1, Math.floor(Number(options.attempts ?? 3))),
		schedule: { kind: 'exponential', baseMs: Number(options.retryDelayMs ?? 1000), factor: 2, jitter: 0.2 },
		rateLimitWaitMs: rate.windowMs,
		timeoutMs: Number(options.timeoutMs ?? 10_000),
		maxInlineWaitMs: maxWaitMs,
		allowInternal,
		signal: ctx.getExecutionCancelSignal?.(),
	});
	const owner = String(ctx.getNodeParameter('defaultOwner', 0, '') ?? '').trim();
	const defaultOwner = owner ? { crmUserId: owner } : undefined;
	const credential = await cachedCredentials(ctx, entry.credentialType);
	const built = entry.build({
		credential,
		mappings: (setting) => mappings(ctx, setting),
		number: (setting) => Number(ctx.getNodeParameter(setting, 0)),
		transport,
	});
	return { ...built, defaultOwner };
}
