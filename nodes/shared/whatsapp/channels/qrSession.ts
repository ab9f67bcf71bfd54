import { httpRequest, HttpRequestError, type HttpResponse } from '../../http';
import { classifyTransportError, type GraphFailure } from '../graphErrors';
import type { OutgoingMessage } from '../graphPayload';
import { failedWithoutRequest, type ChannelFailed, type ChannelRequestPreview, type ChannelResult, type RetryPolicy, type WhatsAppChannel } from './channel';
import { parseJson, sendWithRetries, trimSlash } from './retrySend';

/**
 * A QR session service (a WhatsApp Web session a phone scanned): plain text only, no templates,
 * and no status webhooks. Contract: POST {base}/messages {to, text} → {id}; GET {base}/sessions/{id}.
 */

export interface QrSessionConfig {
	baseUrl: string;
	apiKey: string;
	sessionId: string;
	allowInternal?: boolean;
	timeoutMs?: number;
}

export interface QrSessionStatus {
	id: string;
	status: string;
	connected: boolean;
}

/** An unreachable service may be back soon: a retryable failure without a request waits this long. */
const QR_RETRY_MS = 60_000;

function classifyQr(response: HttpResponse): GraphFailure {
	const body = parseJson(response) as { error?: unknown; message?: unknown } | undefined;
	const said = typeof body?.message === 'string' ? body.message : typeof body?.error === 'string' ? body.error : `HTTP ${response.status}`;
	if (response.status === 401 || response.status === 403) {
		return { kind: 'authExpired', httpStatus: response.status, message: said, fix: 'the QR session service refused the API key: check the API key in the QR session credential' };
	}
	if (response.status >= 500 || response.status === 429 || response.status === 408) {
		return { kind: 'retryable', httpStatus: response.status, message: said, fix: 'The QR session service is having trouble; the send is retried with backoff' };
	}
	return { kind: 'permanent', httpStatus: response.status, message: said, fix: 'The QR session service refused the message; check the number and the session' };
}

const qrHeaders = (config: QrSessionConfig) => ({ authorization: `Bearer ${config.apiKey}` });

/** POST {base}/messages {to, text} → {id}: the QR session contract. */
export async function sendQrSession(config: QrSessionConfig, to: string, text: string, policy: RetryPolicy, signal?: AbortSignal): Promise<ChannelResult> {
	const request = async () =>
		await httpRequest({
			url: `${trimSlash(config.baseUrl)}/messages`,
			method: 'POST',
			json: { to, text },
			headers: qrHeaders(config),
			timeoutMs: config.timeoutMs ?? 10_000,
			allowInternal: config.allowInternal,
			signal,
		});
	const success = (response: HttpResponse) => {
		const id = (parseJson(response) as { id?: unknown } | undefined)?.id;
		if (typeof id !== 'string' || !id) {
			return { kind: 'permanent', httpStatus: response.status, message: 'The QR session service answered 2xx without an id', fix: 'The service must answer POST /messages with {"id": "..."}' } as const;
		}
		return { ok: true, channel: 'qrSession', messageId: id, attempts: 1 } as const;
	};
	return await sendWithRetries({ channel: 'qrSession', request, classify: classifyQr, success }, policy);
}

/** GET {base}/sessions/{id} → {id, status}; "connected" means messages can go out. */
export async function qrSessionStatus(config: QrSessionConfig, signal?: AbortSignal): Promise<QrSessionStatus | GraphFailure> {
	let response: HttpResponse;
	try {
		response = await httpRequest({
			url: `${trimSlash(config.baseUrl)}/sessions/${encodeURIComponent(config.sessionId)}`,
			headers: qrHeaders(config),
			timeoutMs: config.timeoutMs ?? 10_000,
			allowInternal: config.allowInternal,
			signal,
		});
	} catch (error) {
		if (!(error instanceof HttpRequestError)) throw error;
		// A GET changes nothing: a lost answer is only a failed check, retried later.
		return classifyTransportError({ retryable: error.retryable, message: error.message });
	}
	if (response.status !== 200) return classifyQr(response);
	const body = parseJson(response) as { id?: unknown; status?: unknown } | undefined;
	const status = typeof body?.status === 'string' ? body.status : 'unknown';
	return { id: String(body?.id ?? config.sessionId), status, connected: status === 'connected' };
}

export class QrSessionChannel implements WhatsAppChannel {
	readonly name = 'qrSession';
	readonly label = 'QR session';
	readonly statusWebhooks = false;
	readonly authRefused = 'QR session service refused the API key';
	/** The session check, made once per sender (a run); a retryable failure is checked again. */
	private session?: Promise<GraphFailure | undefined>;

	/**
	 * `config` is undefined when the node has no QR session credential; `templateText` is what a
	 * template message becomes here (the service has no templates).
	 */
	constructor(
		private readonly config: QrSessionConfig | undefined,
		private readonly templateText?: string,
	) {}

	get configured(): boolean {
		return this.config !== undefined;
	}

	async send(to: string, message: OutgoingMessage, policy: RetryPolicy, signal?: AbortSignal): Promise<ChannelResult> {
		if (!this.config) return failedWithoutRequest('qrSession', { kind: 'permanent', message: 'No QR session credential', fix: 'Select a Lead Pipeline QR Session API credential' });
		const text = this.textOf(message);
		if (!text?.trim()) {
			return failedWithoutRequest('qrSession', { kind: 'permanent', message: 'A template cannot be sent over a QR session', fix: 'Fill in "QR Session Text" with the words to send instead of the template' });
		}
		const sessionProblem = await this.checkSession(this.config, signal);
		if (sessionProblem) return this.notChecked(sessionProblem, policy);
		return await sendQrSession(this.config, `+${to}`, text, policy, signal);
	}

	preview(to: string, message: OutgoingMessage): ChannelRequestPreview {
		return { method: 'POST', url: this.config ? `${trimSlash(this.config.baseUrl)}/messages` : undefined, body: { to: `+${to}`, text: this.textOf(message) } };
	}

	private textOf(message: OutgoingMessage): string | undefined {
		return message.kind === 'text' ? message.body : this.templateText;
	}

	/** A failed session check as a result: an unreachable service may be back soon, so it defers. */
	private notChecked(failure: GraphFailure, policy: RetryPolicy): ChannelFailed {
		const failed = failedWithoutRequest('qrSession', failure);
		return failure.kind === 'retryable' ? { ...failed, retryAt: policy.clock.now() + QR_RETRY_MS } : failed;
	}

	/** GET /sessions/{id} once per run: a session waiting for a QR scan sends nothing. */
	private async checkSession(config: QrSessionConfig, signal?: AbortSignal): Promise<GraphFailure | undefined> {
		this.session ??= qrSessionStatus(config, signal).then((status): GraphFailure | undefined => {
			if ('kind' in status) return status;
			if (status.connected) return undefined;
			return { kind: 'permanent', message: `QR session "${status.id}" is ${status.status}`, fix: 'Open the QR session service and scan the QR code with the WhatsApp phone, then resend' };
		});
		const problem = await this.session;
		// A transport failure on the status check is retryable: check again on the next send.
		if (problem?.kind === 'retryable') this.session = undefined;
		return problem;
	}
}
