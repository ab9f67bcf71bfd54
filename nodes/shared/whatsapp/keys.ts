/** Redis keys of the WhatsApp message log, idempotency claims and outreach counters, under the pipeline namespace. */
export interface WhatsAppKeys {
	message(messageId: string): string;
	leadMessages(traceId: string): string;
	claim(traceId: string, hash: string): string;
	dailyCount(localDate: string): string;
	rateBucket(): string;
	pairRate(recipient: string): string;
	/** Sends with an unknown outcome to one recipient (a sorted set of log ids by claim time). */
	unknownByRecipient(recipient: string): string;
	/** Status webhooks for a wamid the log did not know yet: the capped index (wamid by arrival). */
	keptStatuses(): string;
	/** One kept wamid's statuses. */
	keptStatus(wamid: string): string;
	/** Kept wamids of one recipient, by status time. */
	keptByRecipient(recipient: string): string;
}

export function whatsAppKeys(namespace: string): WhatsAppKeys {
	const base = `${namespace.replace(/:+$/, '')}:wa`;
	return {
		message: (id) => `${base}:msg:${id}`,
		leadMessages: (traceId) => `${base}:lead:${traceId}`,
		claim: (traceId, hash) => `${base}:claim:${traceId}:${hash}`,
		dailyCount: (date) => `${base}:daily:${date}`,
		rateBucket: () => `${base}:rate`,
		pairRate: (recipient) => `${base}:pair:${recipient}`,
		unknownByRecipient: (recipient) => `${base}:unknown:${recipient}`,
		keptStatuses: () => `${base}:kept`,
		keptStatus: (wamid) => `${base}:kept:msg:${wamid}`,
		keptByRecipient: (recipient) => `${base}:kept:to:${recipient}`,
	};
}
