/**
 * Lead intake channels (website form, WhatsApp, WhatsApp bot, Instagram, bulk import): a request's
 * body to canonical lead drafts and rejections, one IntakeChannel type and a registry by source,
 * signature checks, replay keys, the intake stream.
 *
 * The front door of this wing: other wings and the nodes import from here, never from a file inside.
 */
export * from './bot';
export * from './bulkImport';
export * from './channels';
export * from './draft';
export * from './fieldMappings';
export * from './importRow';
export * from './importStatus';
export * from './instagram';
export * from './queue';
export * from './rejected';
export * from './replayKeys';
export * from './signatures';
export * from './website';
export * from './whatsapp';
