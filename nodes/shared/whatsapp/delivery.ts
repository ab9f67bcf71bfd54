import { ChannelAuthError, type ChannelName, type ChannelResult, type WhatsAppChannel } from './channels/channel';
import { openChannel } from './channels/registry';
import type { OutgoingMessage } from './graphPayload';
import type { SendSettings } from './sendTypes';

/**
 * Which channel a message goes out on, and what happens when it fails there: a template when the
 * 24 h window is closed (131047), the QR session service when the Cloud API refuses it or has no
 * credential. A refused credential stops the run (ChannelAuthError): every later send fails too.
 */

export interface Delivery {
	result: ChannelResult;
	/** Requests made on every channel tried. */
	attempts: number;
	sentTemplate?: string;
	fallbackFrom?: ChannelName;
	fallbackReason?: string;
}

export class ChannelDelivery {
	/** Opened once per sender: a channel may remember a check for the run (the QR session's). */
	private readonly opened = new Map<ChannelName, WhatsAppChannel>();

	constructor(private readonly settings: SendSettings) {}

	channel(name: ChannelName): WhatsAppChannel {
		let channel = this.opened.get(name);
		if (!channel) {
			channel = openChannel(name, this.settings);
			this.opened.set(name, channel);
		}
		return channel;
	}

	async deliver(to: string, message: OutgoingMessage): Promise<Delivery> {
		const primary = this.channel(this.settings.channel);
		const fallback = this.fallback();
		if (!primary.configured && fallback) {
			return { ...(await this.via(fallback, to, message, 0)), fallbackFrom: primary.name, fallbackReason: `no ${primary.label} credential on the node` };
		}
		let result = await this.sendOn(primary, to, message);
		let attempts = result.attempts;
		const template = this.settings.fallbackTemplate;
		if (!result.ok && result.failure.kind === 'outsideWindow' && template) {
			const first = result.failure;
			result = await this.sendOn(primary, to, template);
			attempts += result.attempts;
			if (result.ok) return { result, attempts, sentTemplate: template.name, fallbackReason: `${first.code}: ${first.message}` };
		}
		// An unknown outcome may be on the phone already: another channel would send it twice.
		if (fallback && !result.ok && result.retryAt === undefined && result.failure.kind !== 'outcomeUnknown') {
			const why = `${result.failure.code ?? result.failure.httpStatus ?? 'error'}: ${result.failure.message}`;
			return { ...(await this.via(fallback, to, message, attempts)), fallbackFrom: primary.name, fallbackReason: why };
		}
		return { result, attempts };
	}

	/** The QR session fallback, when it is on, is another channel than the first, and has a credential. */
	private fallback(): WhatsAppChannel | undefined {
		if (!this.settings.fallbackToQr || this.settings.channel === 'qrSession') return undefined;
		const qr = this.channel('qrSession');
		return qr.configured ? qr : undefined;
	}

	private async via(channel: WhatsAppChannel, to: string, message: OutgoingMessage, priorAttempts: number): Promise<Delivery> {
		const result = await this.sendOn(channel, to, message);
		return { result, attempts: priorAttempts + result.attempts };
	}

	private async sendOn(channel: WhatsAppChannel, to: string, message: OutgoingMessage): Promise<ChannelResult> {
		const result = await channel.send(to, message, this.settings.policy, this.settings.signal);
		if (!result.ok && result.failure.kind === 'authExpired') throw new ChannelAuthError(channel, result.failure);
		return result;
	}
}
