/**
 * The stream consumer: one loop (streamConsumer.ts) that reads, claims and dispatches batches;
 * the lock keeper that keeps running batches' entries ours; the dead-letter mover; the pause
 * watcher; the metrics hook; the options and types. Only the public API is exported here.
 */
export { StreamConsumer } from './streamConsumer';
export { DEFAULT_IDLE_CONSUMER_MS, DEFAULT_RELEASE_AFTER_MS, type AckMode, type ConsumerOptions, type WaitingMode } from './options';
export type { ConsumerMetrics } from './metricsHook';
export { ConsumerFailure, type BatchHandler, type BatchOutcome, type ConsumerLog, type ConsumerStats, type StreamMessage } from './types';
