/**
 * WhatsApp outreach: channels (Cloud API, QR session) behind one interface and a registry by
 * name, the send flow, the message log that keeps a person from being messaged twice, outreach
 * rules and business hours, status records.
 *
 * The front door of this wing: other wings and the nodes import from here, never from a file inside.
 */
export * from './businessHours';
export * from './channels/channel';
export * from './channels/cloudApi';
export * from './channels/qrSession';
export * from './channels/registry';
export * from './clock';
export * from './contentHash';
export * from './graphErrors';
export * from './graphPayload';
export * from './itemMessage';
export * from './keptStatuses';
export * from './keys';
export * from './messageLog';
export * from './outreachRules';
export * from './sendFlow';
export * from './sendPreview';
export * from './sendTypes';
