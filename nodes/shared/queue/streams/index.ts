// The one module that writes streams: entry shape, trim policy, adds, acks, dead-lettering and
// replay. Everything else in the pack calls these; nothing else issues XADD/XACK/XTRIM/XDEL.
export * from './entries';
export * from './trim';
export * from './write';
export * from './ack';
export * from './deadLetter';
export * from './replay';
export * from './capped';
export * from './names';
