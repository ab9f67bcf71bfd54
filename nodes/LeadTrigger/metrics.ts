import { createHash } from 'node:crypto';

import type Redis from 'ioredis';
import type { IDataObject, IWebhookFunctions } from 'n8n-workflow';

import { cachedCredentials } from '../common/credentialCache';
import { metricsScope, metricsWanted, recordMetrics, settingsForMetrics } from '../common/metricsOptions';
import { REDIS_CREDENTIAL } from '../common/redisCredential';
import type { RejectedEntry } from '../shared/intake';
import type { Lead } from '../shared/lead';
import { COUNTER, type DecisionEvent } from '../shared/metrics';

/**
 * A rejected entry has no traceId. A channel message id (a Meta retry of the same payload) or,
 * failing that, the entry's content and time identify it, so a retried request is one rejection.
 */
function rejectedKey(entry: RejectedEntry): string {
	const source = entry.source;
	if (source?.messageId) return `rejected:${source.channel}:${source.id ?? ''}:${source.messageId}`;
	return `rejected:${createHash('sha1').update(JSON.stringify(entry)).digest('hex')}`;
}

/**
 * received{channel} for the leads just stored and rejected{reason} for the entries just kept: one
 * write per request (or import batch). Not awaited: it never adds a round trip before the answer
 * and never fails a request (the recorder does not throw; a refusal is a warning).
 */
export function countIntake(
	ctx: IWebhookFunctions,
	s: { durable: boolean; options: IDataObject },
	redis: Redis,
	leads: Lead[],
	rejected: RejectedEntry[],
): void {
	const mode = ctx.getMode();
	if (!s.durable || !metricsWanted(mode, s.options) || leads.length + rejected.length === 0) return;
	const events: DecisionEvent[] = [
		...leads.map((lead) => ({ traceId: lead.traceId, counter: COUNTER.received, labels: { channel: lead.source.channel } })),
		...rejected.map((entry) => ({ traceId: rejectedKey(entry), counter: COUNTER.rejected, labels: { reason: entry.reason } })),
	];
	void (async () => {
		try {
			const credential = await cachedCredentials(ctx, REDIS_CREDENTIAL);
			await recordMetrics(ctx.logger, redis, metricsScope(mode, s.options, settingsForMetrics(credential, ctx.getTimezone())), events);
		} catch (error) {
			ctx.logger.warn(`Lead metrics not recorded: ${(error as Error).message}`);
		}
	})();
}
