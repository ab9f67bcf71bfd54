/** Redis keys of the WhatsApp message log, idempotency claims and outreach counters, under the pipeline namespace. */
export interface WhatsAppKeys {
	message(messageId: string): string;
	leadMessages(traceId: string): string;
	claim(traceId: string, hash: string): string;
	dailyCount(localDate: string): string;
	rateBucket(): string;
	pairRate(recipient: string): string;
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
	};
}
