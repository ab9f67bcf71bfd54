import { openChannel } from './channels/registry';
import { recipientDigits, validateMessage } from './graphPayload';
import { isoTime } from './messageLog';
import { checkHours } from './outreachRules';
import type { SendItem, SendSettings } from './sendTypes';

/** What a send would do, for editor test runs: no Redis, no HTTP, no counters. */
export function previewSend(item: SendItem, settings: SendSettings, nowMs: number): Record<string, unknown> {
	const to = recipientDigits(item.to);
	validateMessage(item.message);
	const preview: Record<string, unknown> = { traceId: item.traceId, to, priority: item.priority, testRun: true, outcome: 'testRun', channel: settings.channel };
	if (settings.rules) {
		const hours = checkHours(nowMs, settings.rules, item.priority);
		preview.businessHours = hours.open ? { open: true } : { open: false, holiday: hours.holiday, nextOpening: hours.nextOpening !== undefined ? isoTime(hours.nextOpening) : undefined };
	}
	preview.request = openChannel(settings.channel, settings).preview(to, item.message);
	return preview;
}
