/**
 * Pipeline metrics: counters and their recorder, the reader, queue health, dead-letter views and
 * the dashboard page.
 *
 * The front door of this wing: other wings and the nodes import from here, never from a file inside.
 */
export * from './counters';
export * from './dashboard';
export * from './dashboardPage';
export * from './deadLetters';
export * from './html';
export * from './queueHealth';
export * from './reader';
export * from './recorder';
