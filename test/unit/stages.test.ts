import { allowedNext, checkTransition, initialStage, qualifiedStage } from '../../nodes/shared/lead/stages';

describe('stage machine per filtration process', () => {
	test('initial and qualified stages', () => {
		expect(['PSV', 'WEST', 'UNKNOWN', 'UPCOMING', 'NO_FILTER'].map((p) => initialStage(p as never))).toEqual(['FRESH_LEAD', 'FRESH_LEAD', 'UNKNOWN_FRESH_LEAD', 'UPCOMING_FRESH_LEAD', 'FRESH_LEAD']);
		expect(['PSV', 'WEST', 'UNKNOWN', 'UPCOMING', 'NO_FILTER'].map((p) => qualifiedStage(p as never))).toEqual(['QUALIFIED', 'QUALIFIED', 'UNKNOWN_QUALIFIED', 'UPCOMING_QUALIFIED', undefined]);
	});

	test('PSV strict: one step at a time, DROPPED from any open stage, nothing after QUALIFIED', () => {
		expect(checkTransition({ process: 'PSV', stage: 'FRESH_LEAD' }, 'IN_PROGRESS', true)).toEqual({ ok: true });
		expect(checkTransition({ process: 'PSV', stage: 'IN_PROGRESS' }, 'QUALIFIED', true)).toEqual({ ok: true });
		expect(checkTransition({ process: 'PSV', stage: 'FRESH_LEAD' }, 'QUALIFIED', true)).toEqual({
			ok: false, from: 'FRESH_LEAD', to: 'QUALIFIED', allowed: ['IN_PROGRESS', 'DROPPED'], reason: 'PSV does not allow FRESH_LEAD → QUALIFIED in strict mode',
		});
		expect(checkTransition({ process: 'WEST', stage: 'IN_PROGRESS' }, 'DROPPED', true)).toEqual({ ok: true });
		expect(checkTransition({ process: 'WEST', stage: 'QUALIFIED' }, 'IN_PROGRESS', false)).toMatchObject({ ok: false, allowed: [], reason: 'QUALIFIED is a final stage for WEST' });
		expect(checkTransition({ process: 'PSV', stage: 'IN_PROGRESS' }, 'FRESH_LEAD', false)).toMatchObject({ ok: false, allowed: ['QUALIFIED', 'DROPPED'] });
	});

	test('not strict: skipping forward is allowed', () => {
		expect(allowedNext({ process: 'PSV', stage: 'FRESH_LEAD' }, false)).toEqual(['IN_PROGRESS', 'QUALIFIED', 'DROPPED']);
		expect(checkTransition({ process: 'PSV', stage: 'FRESH_LEAD' }, 'QUALIFIED', false)).toEqual({ ok: true });
	});

	test('UNKNOWN / UPCOMING are promoted by an admin; NO_FILTER never moves here; pushed or unrouted never move', () => {
		expect(checkTransition({ process: 'UNKNOWN', stage: 'UNKNOWN_FRESH_LEAD' }, 'UNKNOWN_QUALIFIED', true)).toEqual({ ok: true });
		expect(checkTransition({ process: 'UPCOMING', stage: 'UPCOMING_FRESH_LEAD' }, 'QUALIFIED', true)).toMatchObject({ ok: false, allowed: ['UPCOMING_QUALIFIED', 'DROPPED'] });
		expect(checkTransition({ process: 'NO_FILTER', stage: 'FRESH_LEAD' }, 'IN_PROGRESS', false)).toMatchObject({ ok: false, allowed: [] });
		expect(checkTransition({ process: 'PSV', stage: 'FRESH_LEAD', pushed: true }, 'IN_PROGRESS', true)).toMatchObject({ ok: false, allowed: [], reason: expect.stringMatching(/already in the CRM/) });
		expect(checkTransition({ stage: 'NEW' }, 'IN_PROGRESS', true)).toMatchObject({ ok: false, reason: expect.stringMatching(/run Filter Router first/) });
	});
});
