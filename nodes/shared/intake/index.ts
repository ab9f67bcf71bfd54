/**
 * Lead intake channels (website form, WhatsApp, WhatsApp bot, Instagram, bulk import): a request's
 * body to canonical lead drafts and rejections, signature checks, replay keys, the intake stream.
 *
 * The front door of this wing: other wings and the nodes import from here, never from a file inside.
 */
export * from './bot';
export * from './bulkImport';
export * from './draft';
export * from './instagram';
export * from './queue';
export * from './rejected';
export * from './replayKeys';
export * from './signatures';
export * from './website';
export * from './whatsapp';
