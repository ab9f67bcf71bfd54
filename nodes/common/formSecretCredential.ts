import type { ICredentialsDecrypted, ICredentialTestFunctions, INodeCredentialTestResult } from 'n8n-workflow';

export const MIN_SECRET_LENGTH = 16;

/** The form secret lives only here, so its Test button checks what can be checked: its strength. */
export function checkFormSecret(data: object | undefined): INodeCredentialTestResult {
	const { secret, headerName } = (data ?? {}) as { secret?: unknown; headerName?: unknown };
	if (typeof secret !== 'string' || secret.length < MIN_SECRET_LENGTH) {
		return { status: 'Error', message: `The secret must be at least ${MIN_SECRET_LENGTH} characters` };
	}
	if (typeof headerName !== 'string' || !/^[A-Za-z0-9-]+$/.test(headerName)) {
		return { status: 'Error', message: 'The header name may contain only letters, digits and hyphens' };
	}
	return { status: 'OK', message: `Callers must send ${headerName}` };
}

export const formSecretTestMethods = {
	async leadPipelineFormSecretCheck(
		this: ICredentialTestFunctions,
		credential: ICredentialsDecrypted,
	): Promise<INodeCredentialTestResult> {
		return checkFormSecret(credential.data);
	},
};
