import { isoOf, planFiltration } from '../../nodes/shared/store/opportunityOps';
import type { StoredOpportunity } from '../../nodes/shared/store/types';

const doc: StoredOpportunity = { opportunityId: 'opp_1', traceId: 't1', leadId: 'lead_1', channel: 'WEBSITE', stage: 'NEW', createdAt: 'x', updatedAt: 'x' };

test('isoOf: the Date as ISO text, also when the same Date object is changed in between', () => {
	const now = new Date('2026-12-03T10:00:00.000Z');
	expect(isoOf(now)).toBe('2026-12-03T10:00:00.000Z');
	now.setTime(Date.parse('2026-12-04T11:30:00.250Z'));
	expect(isoOf(now)).toBe('2026-12-04T11:30:00.250Z');
	expect(isoOf(new Date('2027-01-01T00:00:00.000Z'))).toBe('2027-01-01T00:00:00.000Z');
	expect(isoOf(now)).toBe('2026-12-04T11:30:00.250Z');
});

test('a plan stamps the document and its audit entry with the time it was given', () => {
	const plan = planFiltration(doc, { by: 'Filter Router', traceId: 't1', process: 'PSV', stage: 'NEW' }, new Date('2026-12-03T10:00:01.000Z'));
	expect(plan.next?.updatedAt).toBe('2026-12-03T10:00:01.000Z');
	expect(plan.audit?.at).toBe('2026-12-03T10:00:01.000Z');
	const later = planFiltration(doc, { by: 'Filter Router', traceId: 't1', process: 'PSV', stage: 'NEW' }, new Date('2026-12-03T10:00:02.000Z'));
	expect(later.audit?.at).toBe('2026-12-03T10:00:02.000Z');
});
