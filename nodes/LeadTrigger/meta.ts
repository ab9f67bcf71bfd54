import type { IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';

import { finalizeDrafts, intakeChannel, invalidLeadEntry, isRecord, looksLikeBot, META_SOURCES, rejectedEntry, verifyMetaSignature, withRawPolicy, type Extracted, type IntakeSource } from '../shared/intake';
import { executionData } from './answers';
import { metaCredential } from './auth';
import { header, respond, respondText, type WebhookRequest, type WebhookResponse } from './http';
import { store } from './keep';
import type { Settings, Source } from './settings';

/** Meta webhooks (WhatsApp Cloud API, Instagram): signed with the app secret, read by their `object`. */

/** Meta webhook `object` values and the channel that reads them. */
const META_CHANNELS: Record<string, IntakeSource | undefined> = {
	whatsapp_business_account: 'whatsapp',
	instagram: 'instagram',
	// Facebook Page (Messenger) events are signed like the others but are not a lead channel yet.
	page: undefined,
};

export const metaObjectOf = (body: unknown): string | undefined =>
	isRecord(body) && typeof body.object === 'string' && body.object in META_CHANNELS ? body.object : undefined;

export function detectSource(body: unknown): Source {
	const object = metaObjectOf(body);
	if (object) return META_CHANNELS[object] ?? 'whatsapp';
	return looksLikeBot(body) ? 'whatsappBot' : 'website';
}

export const isMeta = (source: Source | 'auto') => source !== 'auto' && META_SOURCES.includes(source);

export async function handleMeta(ctx: IWebhookFunctions, s: Settings, body: unknown, raw: Buffer, req: WebhookRequest, res: WebhookResponse): Promise<IWebhookResponseData> {
	const { appSecret } = await metaCredential(ctx);
	if (!verifyMetaSignature(raw, header(req, 'x-hub-signature-256'), appSecret)) {
		respond(res, 401, { error: 'Missing or invalid X-Hub-Signature-256' });
		return { noWebhookResponse: true };
	}
	// Read by the payload's own `object`, whatever the Source setting: one Meta app often sends
	// WhatsApp and Instagram to the same URL. What no channel reads is kept, not dropped.
	const object = isRecord(body) ? body.object : undefined;
	const channel = typeof object === 'string' ? META_CHANNELS[object] : undefined;
	const extracted: Extracted = channel ? intakeChannel(channel)(body, s) : { drafts: [], events: [] };
	const finalized = finalizeDrafts(extracted.drafts, { defaultCountry: s.defaultCountry, raw: s.raw, testRun: s.testRun });
	const { leads } = finalized;
	const rejected = finalized.rejected.map((r) => invalidLeadEntry(r));
	for (const part of extracted.unsupported ?? []) rejected.push(rejectedEntry('unsupportedPayload', part.detail, withRawPolicy({ raw: part.raw }, s.raw)));
	if (!channel) {
		const what = typeof object === 'string' ? `object "${object}"` : 'a payload without an "object"';
		rejected.push(rejectedEntry('unsupportedPayload', `Meta webhook with ${what}: the Lead Trigger reads whatsapp_business_account and instagram`, withRawPolicy({ raw: body }, s.raw)));
	}
	const results = await store(ctx, s, leads, rejected);
	const fresh = leads.filter((_, i) => results[i].stored);
	respondText(res, 200, 'EVENT_RECEIVED');
	return executionData(s, fresh, rejected, extracted.events);
}
