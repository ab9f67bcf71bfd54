/**
 * The lead itself: the canonical lead and its normalization, phone numbers, trace ids, stages,
 * qualification scoring, routing rules and the Pipeline Settings. Pure: no Redis, no HTTP, no n8n.
 *
 * The front door of this wing: other wings and the nodes import from here, never from a file inside.
 */
export * from './lead';
export * from './leadItem';
export * from './phone';
export * from './qualification';
export * from './rules';
export * from './settings';
export * from './stages';
export * from './trace';
