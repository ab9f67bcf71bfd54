import type { ICredentialsDecrypted, ICredentialTestFunctions, INodeCredentialTestResult } from 'n8n-workflow';

import { decodeWebhookSecret, splitSecrets } from '../shared/webhook';

export const WEBHOOK_SIGNING_CREDENTIAL = 'leadPipelineWebhookSigningApi';
export const WEBHOOK_SIGNING_TEST = 'leadPipelineWebhookSigningCheck';

export interface WebhookSigning {
	keys: Buffer[];
	secretHeaders: Record<string, string>;
}

/** Decodes the credential; throws WebhookSecretError (which never repeats a secret) on a bad one. */
export function toWebhookSigning(data: object | undefined): WebhookSigning {
	const d = (data ?? {}) as { secret?: string; previousSecrets?: string; authHeaderName?: string; authHeaderValue?: string };
	const secrets = [...splitSecrets(d.secret), ...splitSecrets(d.previousSecrets)];
	const keys = secrets.map((s, i) => decodeWebhookSecret(s, i === 0 ? 'The signing secret' : `Previous secret ${i}`));
	const name = d.authHeaderName?.trim();
	return { keys, secretHeaders: name && d.authHeaderValue ? { [name]: d.authHeaderValue } : {} };
}

/** The Test button: the secrets decode to keys of a valid length; the header name is a token. */
export function checkWebhookSigning(data: object | undefined): INodeCredentialTestResult {
	try {
		const { keys } = toWebhookSigning(data);
		if (keys.length === 0) return { status: 'Error', message: 'Enter a signing secret (whsec_…)' };
		const name = (data as { authHeaderName?: string }).authHeaderName?.trim();
		if (name && !/^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/.test(name)) return { status: 'Error', message: 'The auth header name has characters a header name cannot have' };
		return { status: 'OK', message: `${keys.length} signing key${keys.length === 1 ? '' : 's'} ready` };
	} catch (error) {
		return { status: 'Error', message: (error as Error).message };
	}
}

export const webhookSigningTestMethods = {
	async [WEBHOOK_SIGNING_TEST](this: ICredentialTestFunctions, credential: ICredentialsDecrypted): Promise<INodeCredentialTestResult> {
		return checkWebhookSigning(credential.data);
	},
};
