import type Redis from 'ioredis';
import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';

import { cachedCredentials } from '../common/credentialCache';
import { InhouseCrmProvider, LeadSquaredProvider, leadSquaredBaseUrl, bucketKey, LocalRateLimiter, RedisRateLimiter, type RateLimit, type RateLimiter, type CrmTransport, type CrmProvider, type FieldMapping } from '../shared/crm';

function mappings(ctx: IExecuteFunctions, name: string): FieldMapping[] {
	const value = ctx.getNodeParameter(name, 0, {}) as { mappings?: FieldMapping[] };
	return (value.mappings ?? []).map((m) => ({ field: String(m.field ?? ''), value: String(m.value ?? '') }));
}

function limiterFor(redis: Redis, shared: boolean, key: string, rate: RateLimit, maxWaitMs: number): RateLimiter {
	return shared ? new RedisRateLimiter(redis, `lead-pipeline:crm-rate:${key}`, rate, undefined, maxWaitMs) : new LocalRateLimiter(key, rate, undefined, maxWaitMs);
}

export interface BuiltProvider {
	provider: CrmProvider;
	/** Credential values to strip from any message. */
	secrets: string[];
	defaultOwner?: { crmUserId: string };
}

/**
 * The provider the node's parameters and credential name, with its rate limiter and retry policy.
 * `maxWaitMs` bounds every wait inside the execution (backoff, Retry-After, a rate-limit slot).
 */
export async function buildProvider(ctx: IExecuteFunctions, redis: Redis, options: IDataObject, maxWaitMs: number): Promise<BuiltProvider> {
	const providerName = ctx.getNodeParameter('provider', 0) as string;
	const rate: RateLimit = { limit: Math.max(1, Math.floor(Number(options.rateLimit ?? 5))), windowMs: Math.round(Number(options.rateWindowSeconds ?? 5) * 1000) };
	const shared = options.sharedRateLimit !== false;
	const transport = (key: string, allowInternal: boolean): Omit<CrmTransport, 'readError' | 'label' | 'secrets'> => ({
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
	if (providerName === 'inhouse') {
		const cred = await cachedCredentials(ctx, 'leadPipelineCrmApi');
		const baseUrl = String(cred.baseUrl ?? '');
		const apiKey = String(cred.apiKey ?? '');
		const provider = new InhouseCrmProvider(
			{ baseUrl, apiKey, leadFields: mappings(ctx, 'inhouseLeadFields'), opportunityFields: mappings(ctx, 'inhouseOpportunityFields') },
			transport(bucketKey('inhouse', baseUrl, apiKey), cred.allowInternal === true),
		);
		return { provider, secrets: [apiKey], defaultOwner };
	}
	const cred = await cachedCredentials(ctx, 'leadPipelineLeadSquaredApi');
	const host = String(cred.host ?? '');
	const accessKey = String(cred.accessKey ?? '');
	const secretKey = String(cred.secretKey ?? '');
	const provider = new LeadSquaredProvider(
		{
			host,
			accessKey,
			secretKey,
			opportunityEventCode: Number(ctx.getNodeParameter('opportunityEventCode', 0)),
			leadAttributes: mappings(ctx, 'leadAttributes'),
			opportunityFields: mappings(ctx, 'opportunityFields'),
		},
		// The plan limit is per account: key on the account's access key and host, never the secret.
		transport(bucketKey('leadsquared', leadSquaredBaseUrl(host), accessKey), cred.allowInternal === true),
	);
	return { provider, secrets: [accessKey, secretKey], defaultOwner };
}
