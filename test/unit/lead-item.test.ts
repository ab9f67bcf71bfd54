import { channelOfItem, leadOfItem } from '../../nodes/shared/lead/leadItem';

describe('leadOfItem: the lead in an item', () => {
	test('a flat lead is the item itself; a free-text "message" field stays a field', () => {
		expect(leadOfItem({ traceId: 't1', phone: '+972501234567', message: 'call me after 5' })).toMatchObject({ traceId: 't1', phone: '+972501234567', message: 'call me after 5' });
	});

	test('a filter-queue message: leadData, with the message\'s traceId', () => {
		expect(leadOfItem({ id: '1-0', message: { traceId: 't2', leadData: { phone: '+972501234567', waId: '972501234567' } } })).toEqual({ phone: '+972501234567', waId: '972501234567', traceId: 't2' });
	});

	test('a queue message that is the lead (the outreach queue\'s welcome message): its fields, not the entry\'s', () => {
		const lead = leadOfItem({ id: '1-0', stream: 'outreachQueue', message: { traceId: 't3', name: 'Dana', phone: '+972501234567', waId: '972521112233' } });
		expect(lead).toMatchObject({ traceId: 't3', name: 'Dana', phone: '+972501234567', waId: '972521112233' });
		expect(lead).not.toHaveProperty('stream');
	});

	test('leadData beside the item: the item\'s traceId when the lead has none', () => {
		expect(leadOfItem({ traceId: 't4', leadData: { email: 'a@b.c' } })).toEqual({ email: 'a@b.c', traceId: 't4' });
	});

	test('the channel: the lead\'s source, else the queue message\'s source text', () => {
		expect(channelOfItem({ message: { source: 'whatsapp', leadData: { phone: '1' } } })).toBe('whatsapp');
		expect(channelOfItem({ source: { channel: 'instagram' } })).toBe('instagram');
	});
});
