/**
 * Redis Streams as the pack's queues: the connection cache, the one stream writer (entry shape,
 * trim, acks, dead letters, replay), consumer groups, the stream consumer loop, the pause flag,
 * admin and peek reads, and the Lua scripts. Reads no lead fields.
 *
 * The front door of this wing: other wings and the nodes import from here, never from a file inside.
 */
export * from './consumer';
export * from './connection';
export * from './pause';
export * from './redisErrors';
export * from './redisScripts';
export * from './streamAdmin';
export * from './streamGroup';
export * from './streamPeek';
export * from './streams';
