/**
 * The lead store: one contract (dedupe, opportunities, CRM state) and its adapters (Redis, MongoDB),
 * every adapter held to the same contract tests.
 *
 * The front door of this wing: other wings and the nodes import from here, never from a file inside.
 */
export * from './contract';
export * from './mongoStore';
export * from './opportunityOps';
export * from './opportunityStore';
export * from './redisStore';
export * from './types';
