import { httpRequest, type HttpResponse } from '../../http';
import { classifyGraphError, type GraphFailure } from '../graphErrors';
import { graphPayload, type OutgoingMessage } from '../graphPayload';
import { failedWithoutRequest, type ChannelRequestPreview, type ChannelResult, type ChannelSent, type RetryPolicy, type WhatsAppChannel } from './channel';
import { parseJson, sendWithRetries, trimSlash } from './retrySend';

/** The WhatsApp Cloud API (Meta's Graph API): text and approved templates, with status webhooks. */

export interface CloudApiConfig {
	baseUrl: string;
	version: string;
	phoneNumberId: string;
	accessToken: string;
	allowInternal?: boolean;
	timeoutMs?: number;
}

const NO_CREDENTIAL: GraphFailure = {
	kind: 'permanent',
	message: 'No WhatsApp Cloud API credential',
	fix: 'Select a Lead Pipeline WhatsApp API credential, or turn on the QR session fallback',
};

type GraphAnswer = { contacts?: Array<{ wa_id?: string }>; messages?: Array<{ id?: string; message_status?: string }> } | undefined;

function sentMessage(response: HttpResponse): ChannelSent | GraphFailure {
	const body = parseJson(response) as GraphAnswer;
	const message = body?.messages?.[0];
	if (!message?.id) {
		return { kind: 'permanent', httpStatus: response.status, message: 'The Graph API answered 2xx without messages[0].id', fix: 'Check the Base URL points at the Graph API' };
	}
	return { ok: true, channel: 'cloudApi', messageId: message.id, waId: body?.contacts?.[0]?.wa_id, messageStatus: message.message_status ?? 'accepted', attempts: 1 };
}

/** POST {base}/{version}/{phone-number-id}/messages with the bearer token. */
export async function sendCloudApi(config: CloudApiConfig, payload: Record<string, unknown>, policy: RetryPolicy, signal?: AbortSignal): Promise<ChannelResult> {
	const url = `${trimSlash(config.baseUrl)}/${config.version}/${encodeURIComponent(config.phoneNumberId)}/messages`;
	const request = async () =>
		await httpRequest({
			url,
			method: 'POST',
			json: payload,
			headers: { authorization: `Bearer ${config.accessToken}` },
			timeoutMs: config.timeoutMs ?? 10_000,
			allowInternal: config.allowInternal,
			signal,
		});
	const classify = (response: HttpResponse) => classifyGraphError(response.status, parseJson(response));
	return await sendWithRetries({ channel: 'cloudApi', request, classify, success: sentMessage }, policy);
}

export class CloudApiChannel implements WhatsAppChannel {
	readonly name = 'cloudApi';
	readonly label = 'WhatsApp Cloud API';
	readonly statusWebhooks = true;
	readonly authRefused = 'WhatsApp Cloud API access token refused';

	/** `config` is undefined when the node has no Cloud API credential. */
	constructor(private readonly config: CloudApiConfig | undefined) {}

	get configured(): boolean {
		return this.config !== undefined;
	}

	async send(to: string, message: OutgoingMessage, policy: RetryPolicy, signal?: AbortSignal): Promise<ChannelResult> {
		if (!this.config) return failedWithoutRequest('cloudApi', NO_CREDENTIAL);
		return await sendCloudApi(this.config, graphPayload(to, message), policy, signal);
	}

	preview(to: string, message: OutgoingMessage): ChannelRequestPreview {
		const cloud = this.config;
		return {
			method: 'POST',
			url: cloud ? `${trimSlash(cloud.baseUrl)}/${cloud.version}/${cloud.phoneNumberId}/messages` : undefined,
			body: graphPayload(to, message),
		};
	}
}
