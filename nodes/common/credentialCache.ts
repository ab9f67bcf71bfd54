import type { ICredentialDataDecryptedObject, IExecuteFunctions, IWebhookFunctions } from 'n8n-workflow';

/**
 * Decrypted credentials, read once per `ttlMs` per workflow, node and credential id.
 *
 * n8n 2.41 answers every `getCredentials` with a database read, a decrypt and a fresh expression
 * isolate (measured: more CPU than the rest of an enqueue-only request together). The Lead Trigger
 * answers requests without an execution, and a filter-queue batch runs three of the pack's nodes
 * that each read the Redis credential: per request / per node per batch, that read dominated. Picking
 * another credential on the node changes the id and applies at once; an edited credential is in use
 * within `ttlMs`. Editor test runs always read afresh, so what a user just edited is what they test.
 * A failed read is not kept.
 */
export const credentialCache = {
	ttlMs: 5_000,
	entries: new Map<string, { readAt: number; data: Promise<ICredentialDataDecryptedObject> }>(),
};

export async function cachedCredentials(ctx: IWebhookFunctions | IExecuteFunctions, type: string): Promise<ICredentialDataDecryptedObject> {
	if (ctx.getMode() === 'manual' || credentialCache.ttlMs <= 0) return await ctx.getCredentials(type);
	const node = ctx.getNode();
	const key = [ctx.getWorkflow().id, node.id, type, node.credentials?.[type]?.id ?? ''].join('\u0000');
	const now = Date.now();
	const hit = credentialCache.entries.get(key);
	if (hit && now - hit.readAt < credentialCache.ttlMs) return await hit.data;
	const data = ctx.getCredentials(type);
	credentialCache.entries.set(key, { readAt: now, data });
	data.catch(() => {
		if (credentialCache.entries.get(key)?.data === data) credentialCache.entries.delete(key);
	});
	return await data;
}
