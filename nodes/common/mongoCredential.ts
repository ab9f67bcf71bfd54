import type { ICredentialsDecrypted, ICredentialTestFunctions, INodeCredentialTestResult } from 'n8n-workflow';
import { MongoClient } from 'mongodb';

export interface MongoCredentialData {
	connectionString: string;
	database: string;
}

export function toMongoCredentialData(data: object | undefined): MongoCredentialData {
	const d = (data ?? {}) as Record<string, unknown>;
	return { connectionString: String(d.connectionString ?? ''), database: String(d.database || 'leadPipeline') };
}

/** Driver messages can echo the URI: cut credentials out of anything shown to a user. */
export function safeMongoMessage(error: unknown, cred: MongoCredentialData): string {
	const message = String((error as { message?: unknown })?.message ?? error);
	return message.split(cred.connectionString).join('***').replace(/(mongodb(\+srv)?:\/\/)[^@\s]*@/g, '$1***@');
}

export const mongoCredentialTestMethods = {
	async leadPipelineMongoConnectionTest(
		this: ICredentialTestFunctions,
		credential: ICredentialsDecrypted,
	): Promise<INodeCredentialTestResult> {
		const cred = toMongoCredentialData(credential.data);
		const client = new MongoClient(cred.connectionString, { serverSelectionTimeoutMS: 5_000 });
		try {
			await client.connect();
			await client.db(cred.database).command({ ping: 1 });
			return { status: 'OK', message: 'Connected: ping answered' };
		} catch (error) {
			return { status: 'Error', message: safeMongoMessage(error, cred) };
		} finally {
			await client.close().catch(() => undefined);
		}
	},
};
