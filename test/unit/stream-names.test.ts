import { dlqStreamName } from '../../nodes/shared/queue/streamGroup';
import { encodeMessage, fieldsToObject } from '../../nodes/shared/queue/streams';

describe('stream naming and encoding', () => {
	test('dead-letter streams follow DLQ<Queue><Group>, as the existing backend names them', () => {
		expect(dlqStreamName('filterQueue', 'newOpportunityProcessor')).toBe('DLQFilterQueueNewOpportunityProcessor');
		expect(dlqStreamName('syncQueue', 'syncQueueProcessor')).toBe('DLQSyncQueueSyncQueueProcessor');
		expect(dlqStreamName('leads:intake', 'crm-sync')).toBe('DLQLeadsIntakeCrmSync');
	});

	test('messages are JSON unless already text; flat field lists become objects', () => {
		expect(encodeMessage({ a: 1 })).toBe('{"a":1}');
		expect(encodeMessage('raw')).toBe('raw');
		expect(fieldsToObject(['message', '{}', 'x', 'y'])).toEqual({ message: '{}', x: 'y' });
		expect(fieldsToObject(null)).toEqual({});
	});
});
