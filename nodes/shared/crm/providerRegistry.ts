import { InhouseCrmProvider } from './inhouse';
import { LeadSquaredProvider, leadSquaredBaseUrl } from './leadsquared';
import { bucketKey } from './rateLimiter';
import type { CrmTransport } from './transport';
import type { CrmProvider, FieldMapping } from './types';

/** The transport settings every provider shares; each adds its own label, secrets and error reader. */
export type ProviderTransport = Omit<CrmTransport, 'readError' | 'label' | 'secrets'>;

/**
 * What a provider is built from, read by the caller (CRM Sync) from wherever it keeps them: the
 * provider's credential, its settings by name, and the shared transport for a rate-limit bucket.
 */
export interface ProviderSource {
	/** The fields of the credential named by the entry's `credentialType`. */
	credential: Record<string, unknown>;
	/** A field mapping list setting (LeadSquared attributes, in-house fields...). */
	mappings(setting: string): FieldMapping[];
	number(setting: string): number;
	/** The transport, rate-limited on the bucket `key` (never a secret). */
	transport(key: string, allowInternal: boolean): ProviderTransport;
}

export interface BuiltCrmProvider {
	provider: CrmProvider;
	/** Credential values to strip from any message. */
	secrets: string[];
}

export interface CrmProviderEntry {
	/** The credential type holding the provider's keys. */
	credentialType: string;
	build(source: ProviderSource): BuiltCrmProvider;
}

function buildLeadSquared(source: ProviderSource): BuiltCrmProvider {
	const cred = source.credential;
	const host = String(cred.host ?? '');
	const accessKey = String(cred.accessKey ?? '');
	const secretKey = String(cred.secretKey ?? '');
	const config = {
		host,
		accessKey,
		secretKey,
		opportunityEventCode: source.number('opportunityEventCode'),
		leadAttributes: source.mappings('leadAttributes'),
		opportunityFields: source.mappings('opportunityFields'),
	};
	// The plan limit is per account: key on the account's access key and host, never the secret.
	const transport = source.transport(bucketKey('leadsquared', leadSquaredBaseUrl(host), accessKey), cred.allowInternal === true);
	return { provider: new LeadSquaredProvider(config, transport), secrets: [accessKey, secretKey] };
}

function buildInhouse(source: ProviderSource): BuiltCrmProvider {
	const cred = source.credential;
	const baseUrl = String(cred.baseUrl ?? '');
	const apiKey = String(cred.apiKey ?? '');
	const config = { baseUrl, apiKey, leadFields: source.mappings('inhouseLeadFields'), opportunityFields: source.mappings('inhouseOpportunityFields') };
	const transport = source.transport(bucketKey('inhouse', baseUrl, apiKey), cred.allowInternal === true);
	return { provider: new InhouseCrmProvider(config, transport), secrets: [apiKey] };
}

/** Every CRM CRM Sync can push to, keyed by the name its Provider setting stores. */
export const CRM_PROVIDERS: Readonly<Record<string, CrmProviderEntry>> = {
	leadsquared: { credentialType: 'leadPipelineLeadSquaredApi', build: buildLeadSquared },
	inhouse: { credentialType: 'leadPipelineCrmApi', build: buildInhouse },
};

export class UnknownCrmProviderError extends Error {
	constructor(readonly providerName: string) {
		super(`Unknown CRM provider "${providerName}": expected one of ${Object.keys(CRM_PROVIDERS).join(', ')}`);
		this.name = 'UnknownCrmProviderError';
	}
}

/** Whether the registry has a provider of this name (own keys only: "constructor" is no provider). */
export function isCrmProviderName(providerName: string): boolean {
	return Object.prototype.hasOwnProperty.call(CRM_PROVIDERS, providerName);
}

/** The registry entry for a provider name; an unknown name is an error, never a default. */
export function crmProviderEntry(providerName: string): CrmProviderEntry {
	if (!isCrmProviderName(providerName)) throw new UnknownCrmProviderError(providerName);
	return CRM_PROVIDERS[providerName];
}
