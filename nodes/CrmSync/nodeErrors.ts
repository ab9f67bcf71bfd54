import { type IExecuteFunctions, NodeOperationError } from 'n8n-workflow';

import { CrmConfigurationError, CrmDeferredError, CrmTransientError, PushInProgressError, redactSecrets } from '../shared/crm';

/**
 * Transient failures and a push in progress elsewhere fail the execution (continueOnFail or not):
 * the stream consumer then leaves the message pending, redelivers it and finally dead-letters it.
 * Acknowledging it through an error output would lose the opportunity.
 */
export function crmError(ctx: IExecuteFunctions, error: unknown, itemIndex: number, secrets: string[]): NodeOperationError {
	const node = ctx.getNode();
	const clean = (text: string) => redactSecrets(text, secrets);
	if (error instanceof PushInProgressError) {
		return new NodeOperationError(node, error.message, {
			itemIndex,
			description: `Another delivery of this sync message holds the push lease${error.leaseExpiresAt ? ` until ${error.leaseExpiresAt}` : ''}. The stream consumer retries it later; nothing to do unless this repeats.`,
		});
	}
	if (error instanceof CrmDeferredError) {
		return new NodeOperationError(node, clean(error.message), {
			itemIndex,
			description: `The CRM asks to wait until ${new Date(error.retryAt).toISOString()}, longer than "Longest Wait in an Execution". The execution fails so the stream consumer redelivers the message; turn on the Retry Queue option so such waits are held in Redis instead and never count toward Max Retries.`,
		});
	}
	if (error instanceof CrmTransientError) {
		return new NodeOperationError(node, clean(error.message), {
			itemIndex,
			description: 'A temporary CRM failure (network, timeout, 5xx or rate limit). The execution fails so the stream consumer redelivers the message; after Max Retries it goes to the dead-letter stream.',
		});
	}
	if (error instanceof CrmConfigurationError) {
		return new NodeOperationError(node, clean(error.message), {
			itemIndex,
			description: "Check the CRM credential's host / Base URL (a private-network address needs \"Allow Private Network Host\").",
		});
	}
	const message = clean(error instanceof Error ? error.message : String(error));
	return new NodeOperationError(node, message, { itemIndex, description: 'CRM Sync could not finish this item; the stream consumer will retry it.' });
}
