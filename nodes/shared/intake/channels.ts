import { botChannel } from './bot';
import type { IntakeChannel } from './draft';
import { instagramChannel } from './instagram';
import { websiteChannel } from './website';
import { whatsAppChannel } from './whatsapp';

/**
 * Every intake channel by the name the Lead Trigger's Source gives it. A new channel is one
 * entry here and one file beside this one (a bulk import is rows of website forms: importRow.ts).
 */
const INTAKE_CHANNELS = {
	website: websiteChannel,
	whatsappBot: botChannel,
	whatsapp: whatsAppChannel,
	instagram: instagramChannel,
} satisfies Record<string, IntakeChannel>;

export type IntakeSource = keyof typeof INTAKE_CHANNELS;

export const INTAKE_SOURCES = Object.keys(INTAKE_CHANNELS) as IntakeSource[];

/** Channels whose requests are Meta webhooks (signed with the app secret, answered EVENT_RECEIVED). */
export const META_SOURCES: readonly IntakeSource[] = ['whatsapp', 'instagram'];

export class UnknownIntakeChannelError extends Error {
	constructor(readonly source: string) {
		super(`Unknown lead intake channel "${source}": the channels are ${INTAKE_SOURCES.join(', ')}`);
		this.name = 'UnknownIntakeChannelError';
	}
}

export const isIntakeSource = (name: string): name is IntakeSource => Object.prototype.hasOwnProperty.call(INTAKE_CHANNELS, name);

/** The channel named `source`; an unknown name throws UnknownIntakeChannelError. */
export function intakeChannel(source: string): IntakeChannel {
	if (!isIntakeSource(source)) throw new UnknownIntakeChannelError(source);
	return INTAKE_CHANNELS[source];
}
