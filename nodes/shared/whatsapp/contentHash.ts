import { createHash } from 'node:crypto';

import type { OutgoingMessage } from './graphPayload';

/**
 * Identity of what a lead is sent, for idempotency: the same traceId with the same hash inside the
 * window is the same message (a redelivered stream entry), whatever channel ends up carrying it.
 */
export function contentHash(to: string, message: OutgoingMessage): string {
	const canonical =
		message.kind === 'text'
			? ['text', message.body]
			: ['template', message.name, message.language, message.header, message.body, message.buttons];
	return createHash('sha256').update(JSON.stringify([to, ...canonical])).digest('hex').slice(0, 32);
}
