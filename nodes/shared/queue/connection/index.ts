// Talking to Redis: the credential's settings and each role's options (./settings), one connection
// opened and closed (./connect, no cache), the version check, and the one cache of shared
// connections (./pool). The files import each other one way: settings <- errors <- connect <- pool.
export * from './settings';
export * from './errors';
export * from './connect';
export * from './version';
export * from './pool';
