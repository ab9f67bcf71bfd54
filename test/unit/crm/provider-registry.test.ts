import { CRM_PROVIDERS, crmProviderEntry, LocalRateLimiter, type ProviderSource, UnknownCrmProviderError } from '../../../nodes/shared/crm';

function sourceWith(credential: Record<string, unknown>) {
	const buckets: string[] = [];
	const source: ProviderSource = {
		credential,
		mappings: () => [],
		number: () => 12000,
		transport: (key, allowInternal) => {
			buckets.push(key);
			return { limiter: new LocalRateLimiter(key, { limit: 5, windowMs: 5_000 }), attempts: 1, schedule: { kind: 'exponential', baseMs: 1, factor: 2, jitter: 0 }, rateLimitWaitMs: 5_000, timeoutMs: 1_000, allowInternal };
		},
	};
	return { source, buckets };
}

test('the registry knows LeadSquared and the in-house CRM, each with its credential type', () => {
	expect(Object.keys(CRM_PROVIDERS).sort()).toEqual(['inhouse', 'leadsquared']);
	expect(crmProviderEntry('leadsquared').credentialType).toBe('leadPipelineLeadSquaredApi');
	expect(crmProviderEntry('inhouse').credentialType).toBe('leadPipelineCrmApi');
});

test.each(['', 'salesforce', 'LeadSquared', 'constructor', 'toString'])('an unknown provider name (%p) is a clear error, never LeadSquared by default', (name) => {
	expect(() => crmProviderEntry(name)).toThrow(UnknownCrmProviderError);
	expect(() => crmProviderEntry(name)).toThrow(`Unknown CRM provider "${name}": expected one of leadsquared, inhouse`);
});

test('LeadSquared: its platform, both keys as secrets, a rate bucket that does not carry the secret key', () => {
	const { source, buckets } = sourceWith({ host: 'api-in21.leadsquared.com', accessKey: 'u$access', secretKey: 'top-secret' });
	const built = crmProviderEntry('leadsquared').build(source);
	expect(built.provider.platform).toBe('LEADSQUARED');
	expect(built.secrets).toEqual(['u$access', 'top-secret']);
	expect(buckets).toHaveLength(1);
	expect(buckets[0]).not.toContain('top-secret');
});

test('in-house CRM: its platform and the API key as the secret', () => {
	const { source } = sourceWith({ baseUrl: 'https://crm.example.com', apiKey: 'k-1' });
	const built = crmProviderEntry('inhouse').build(source);
	expect(built.provider.platform).toBe('INHOUSE');
	expect(built.secrets).toEqual(['k-1']);
});
