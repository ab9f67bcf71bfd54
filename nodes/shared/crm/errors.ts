/**
 * How a CRM call failed, as CRM Sync must react to it:
 * - CrmPermanentError: the CRM refused the request (4xx other than 408/429). Retrying cannot help;
 *   the item goes to the Failed output with the CRM's own message, verbatim.
 * - CrmTransientError: network, timeout, 5xx, 429 after the inline retries. The node throws so the
 *   stream consumer redelivers the message later and finally dead-letters it.
 * Messages never carry credential values: the HTTP client leaves headers and query strings out,
 * and every text taken from a response passes through redactSecrets first.
 */
export class CrmPermanentError extends Error {
	constructor(
		message: string,
		readonly status: number,
		/** The CRM's own words (LeadSquared ExceptionMessage, in-house `error`), verbatim. */
		readonly crmMessage: string,
		readonly crmErrorType?: string,
	) {
		super(message);
		this.name = 'CrmPermanentError';
	}
}

export class CrmTransientError extends Error {
	constructor(
		message: string,
		readonly status?: number,
		readonly crmMessage?: string,
	) {
		super(message);
		this.name = 'CrmTransientError';
	}
}

/** Another runner holds the push lease of this opportunity: try again later. */
export class PushInProgressError extends Error {
	constructor(
		readonly opportunityId: string,
		readonly leaseExpiresAt?: string,
	) {
		super(`Opportunity ${opportunityId} is being pushed to the CRM by another execution`);
		this.name = 'PushInProgressError';
	}
}

/** Replaces every occurrence of each secret (4+ characters) with "***". */
export function redactSecrets(text: string, secrets: Array<string | undefined>): string {
	let out = text;
	for (const secret of secrets) {
		if (secret && secret.length >= 4) out = out.split(secret).join('***');
	}
	return out;
}

/**
 * The CRM asked for (or the rate limit needs) a wait longer than CRM Sync may spend inside one
 * execution: nothing was done for it, try again at `retryAt` (epoch ms). Never a reason to
 * dead-letter: the item is parked in the retry queue, or handed back to the consumer.
 */
export class CrmDeferredError extends Error {
	constructor(
		message: string,
		readonly retryAt: number,
	) {
		super(message);
		this.name = 'CrmDeferredError';
	}
}

/**
 * A create that may have reached the CRM and got no answer: it must not be sent again blindly.
 * The push searches for it first (see syncOpportunity).
 */
export class CrmOutcomeUnknownError extends CrmTransientError {
	// Keeps the name CrmTransientError: to everything but the push itself it is one.
	constructor(message: string) {
		super(message);
	}
}
