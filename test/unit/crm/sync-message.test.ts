import { buildSyncMessage, readSyncMessage } from '../../../nodes/shared/crm';

describe('buildSyncMessage: the wire shape the existing sync consumer reads', () => {
	test('CREATE from the Filter Router: { _id, traceID, action, source }, nothing else', () => {
		expect(buildSyncMessage({ opportunityId: 'opp_1', traceId: 't1', action: 'CREATE', source: 'WHATSAPP_BOT' })).toStrictEqual({ _id: 'opp_1', traceID: 't1', action: 'CREATE', source: 'WHATSAPP_BOT' });
	});

	test('PROMOTE_FROM_FILTER from Qualify: the same four fields', () => {
		expect(buildSyncMessage({ opportunityId: 'opp_2', traceId: 't2', action: 'PROMOTE_FROM_FILTER', source: 'PSV' })).toStrictEqual({ _id: 'opp_2', traceID: 't2', action: 'PROMOTE_FROM_FILTER', source: 'PSV' });
	});

	test('a built message reads back to its opportunity and trace', () => {
		const message = buildSyncMessage({ opportunityId: 'opp_3', traceId: 't3', action: 'CREATE', source: 'WEBSITE' });
		expect(readSyncMessage({ id: '1-0', message })).toEqual({ opportunityId: 'opp_3', traceId: 't3', message });
	});
});

describe('readSyncMessage: every shape that may still be on a sync queue or handed to CRM Sync', () => {
	const cases: Array<[string, Record<string, unknown>, { opportunityId?: string; traceId?: string }]> = [
		['consumer delivery, current message', { id: '1-0', stream: 'ns:syncQueue', message: { _id: 'o', traceID: 't', action: 'CREATE', source: 'WEBSITE' } }, { opportunityId: 'o', traceId: 't' }],
		['bare current message', { _id: 'o', traceID: 't', action: 'PROMOTE_FROM_FILTER', source: 'PSV' }, { opportunityId: 'o', traceId: 't' }],
		['camel-case traceId in the message', { message: { _id: 'o', traceId: 't' } }, { opportunityId: 'o', traceId: 't' }],
		['opportunityId instead of _id in the message', { message: { opportunityId: 'o', traceID: 't' } }, { opportunityId: 'o', traceId: 't' }],
		['an opportunity item (no sync message)', { opportunityId: 'o', traceId: 't', stage: 'NEW' }, { opportunityId: 'o', traceId: 't' }],
		['opportunityId and traceId on the item beside a message without them', { opportunityId: 'o', traceId: 't', message: { action: 'CREATE' } }, { opportunityId: 'o', traceId: 't' }],
		['_id on the item beside a message without one', { _id: 'o', message: { traceID: 't' } }, { opportunityId: 'o', traceId: 't' }],
		['traceID wins over traceId', { message: { _id: 'o', traceID: 'upper', traceId: 'camel' } }, { opportunityId: 'o', traceId: 'upper' }],
		['_id wins over opportunityId', { message: { _id: 'by-id', opportunityId: 'by-name' } }, { opportunityId: 'by-id', traceId: undefined }],
		['the id is trimmed', { message: { _id: '  o  ', traceID: 't' } }, { opportunityId: 'o', traceId: 't' }],
		['a blank id is no id', { message: { _id: '   ', traceID: 't' } }, { opportunityId: undefined, traceId: 't' }],
		['a non-text id or trace is absent', { message: { _id: 42, traceID: 7 } }, { opportunityId: undefined, traceId: undefined }],
		['no id at all', { id: '1-0', message: { traceID: 'x' } }, { opportunityId: undefined, traceId: 'x' }],
	];

	test.each(cases)('%s', (_name, raw, expected) => {
		const read = readSyncMessage(raw);
		expect({ opportunityId: read.opportunityId, traceId: read.traceId }).toEqual(expected);
	});

	test('the raw message is kept verbatim (legacy fields included) for the retry queue and mappings', () => {
		const message = { _id: 'o', traceId: 't', crmRetry: { attempts: 1 }, extra: 'kept' };
		expect(readSyncMessage({ id: '1-0', message }).message).toBe(message);
		const bare = { opportunityId: 'o', traceId: 't' };
		expect(readSyncMessage(bare).message).toBe(bare);
	});
});
