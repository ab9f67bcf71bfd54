/**
 * CRM sync: the sync message handed from the Filter Router / Qualify to CRM Sync, the providers
 * (LeadSquared, in-house CRM), their transport, rate limiter, errors and retry queue.
 *
 * The front door of this wing: other wings and the nodes import from here, never from a file inside.
 */
export * from './errors';
export * from './inhouse';
export * from './leadStorePort';
export * from './leadsquared';
export * from './mapping';
export * from './personKeys';
export * from './phoneMatch';
export * from './providerRegistry';
export * from './pushLease';
export * from './rateLimiter';
export * from './retryQueue';
export * from './sync';
export * from './syncHandoff';
export * from './syncMessage';
export * from './syncTypes';
export * from './transport';
export * from './types';
