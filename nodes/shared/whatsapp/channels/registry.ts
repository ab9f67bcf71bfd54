import type { ChannelName, WhatsAppChannel } from './channel';
import { CloudApiChannel, type CloudApiConfig } from './cloudApi';
import { QrSessionChannel, type QrSessionConfig } from './qrSession';

/** What the channels are opened from: the node's credentials (either may be missing). */
export interface ChannelCredentials {
	cloudApi?: CloudApiConfig;
	qr?: QrSessionConfig;
	/** What a template message becomes on the QR channel (it has no templates). */
	qrText?: string;
}

/** Every channel by name: a new channel is one entry here and one file beside this one. */
const CHANNELS: Record<ChannelName, (credentials: ChannelCredentials) => WhatsAppChannel> = {
	cloudApi: (c) => new CloudApiChannel(c.cloudApi),
	qrSession: (c) => new QrSessionChannel(c.qr, c.qrText),
};

export const CHANNEL_NAMES = Object.keys(CHANNELS) as ChannelName[];

export class UnknownChannelError extends Error {
	constructor(readonly channel: string) {
		super(`Unknown WhatsApp channel "${channel}": the channels are ${CHANNEL_NAMES.join(', ')}`);
		this.name = 'UnknownChannelError';
	}
}

export const isChannelName = (name: string): name is ChannelName => Object.prototype.hasOwnProperty.call(CHANNELS, name);

/** The channel `name` names; an unknown name throws UnknownChannelError. */
export function channelName(name: string): ChannelName {
	if (!isChannelName(name)) throw new UnknownChannelError(name);
	return name;
}

/** Opens the channel `name` over the credentials (an unknown name throws UnknownChannelError). */
export function openChannel(name: string, credentials: ChannelCredentials): WhatsAppChannel {
	return CHANNELS[channelName(name)](credentials);
}
