/**
 * Signed webhook delivery: the delivery envelope and its attempt, Standard Webhooks signing, the
 * retry queue (a due-time set) and delivery dead letters.
 *
 * The front door of this wing: other wings and the nodes import from here, never from a file inside.
 */
export * from './standardWebhooks';
export * from './webhookDelivery';
export * from './webhookQueue';
