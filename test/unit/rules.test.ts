import { compileRoutingTable, reachableProcesses, route } from '../../nodes/shared/lead/rules';

describe('routing table', () => {
	const table = compileRoutingTable(
		[
			{ process: 'NO_FILTER', conditions: [{ field: 'channel', operation: 'equals', expected: 'whatsapp_bot' }] },
			{ process: 'WEST', conditions: [{ field: 'destination', operation: 'inList', expected: 'Goa, Kerala\nBali' }] },
			{ process: 'upcoming', combine: 'any', conditions: [{ field: 'destination', operation: 'regex', expected: '^(mars|moon)' }, { field: 'value', operation: 'exists' }] },
		],
		'{"Dubai": "PSV", "Paris": "PSV"}',
	);

	test('first match wins, then the destination map, then the default', () => {
		expect(route(table, { channel: 'WHATSAPP_BOT', destination: 'Goa' })).toEqual({ process: 'NO_FILTER', routedBy: 'rule 1' });
		expect(route(table, { channel: 'WEBSITE', destination: ' bali ' })).toEqual({ process: 'WEST', routedBy: 'rule 2' });
		expect(route(table, { channel: 'WEBSITE', destination: 'Moon base' })).toEqual({ process: 'UPCOMING', routedBy: 'rule 3' });
		expect(route(table, { channel: 'WEBSITE', destination: 'x', values: [[], [], [undefined, '2027 trip']] })).toEqual({ process: 'UPCOMING', routedBy: 'rule 3' });
		expect(route(table, { channel: 'WEBSITE', destination: 'dubai' })).toEqual({ process: 'PSV', routedBy: 'destination map' });
		expect(route(table, { channel: 'WEBSITE' })).toEqual({ process: 'UNKNOWN', routedBy: 'default' });
		expect(route(table, { channel: 'WEBSITE', destination: '', values: [[], [], [undefined, '  ']] })).toEqual({ process: 'UNKNOWN', routedBy: 'default' });
	});

	test('all conditions by default', () => {
		const t = compileRoutingTable([{ process: 'PSV', conditions: [{ field: 'channel', operation: 'equals', expected: 'WEBSITE' }, { field: 'destination', operation: 'equals', expected: 'Goa' }] }]);
		expect(route(t, { channel: 'WEBSITE', destination: 'goa' }).process).toBe('PSV');
		expect(route(t, { channel: 'WEBSITE', destination: 'Bali' }).process).toBe('UNKNOWN');
	});

	test('mistakes are reported by rule and condition', () => {
		expect(() => compileRoutingTable([{ process: 'SALES', conditions: [{ field: 'channel', operation: 'exists' }] }])).toThrow('Routing rule 1: process "SALES" is not one of NO_FILTER, PSV, WEST, UNKNOWN, UPCOMING');
		expect(() => compileRoutingTable([{ process: 'PSV', conditions: [] }])).toThrow('Routing rule 1: has no conditions');
		expect(() => compileRoutingTable([{ process: 'PSV', conditions: [{ field: 'destination', operation: 'regex', expected: '(' }] }])).toThrow(/^Routing rule 1, condition 1: invalid regular expression/);
		expect(() => compileRoutingTable([], '{"Goa": "SALES"}')).toThrow('Destination Map "Goa": process "SALES" is not one of NO_FILTER, PSV, WEST, UNKNOWN, UPCOMING');
		expect(() => compileRoutingTable([], '{Goa: PSV}')).toThrow(/^Destination Map: is not valid JSON/);
		expect(() => compileRoutingTable([], '["Goa"]')).toThrow(/must be a JSON object/);
	});

	test('reachable processes (for hiding unused outputs)', () => {
		expect(reachableProcesses(table)).toEqual(['NO_FILTER', 'PSV', 'WEST', 'UNKNOWN', 'UPCOMING']);
		expect(reachableProcesses(compileRoutingTable([{ process: 'WEST', conditions: [{ field: 'channel', operation: 'exists' }] }]))).toEqual(['WEST', 'UNKNOWN']);
	});
});
