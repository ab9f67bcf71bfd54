import { packNodeTypes } from '../../scripts/engine-harness/run-workflow';

describe('Pipeline Settings on the Lead Pipeline Redis credential', () => {
	test('the credential carries the settings fields, MongoDB ones only when MongoDB is the lead store', () => {
		const fields = packNodeTypes().credentials.get('leadPipelineRedis')!.properties;
		const byName = Object.fromEntries(fields.map((f) => [f.name, f]));
		expect(Object.keys(byName)).toEqual(expect.arrayContaining(['namespace', 'timeZone', 'filterQueue', 'syncQueue', 'leadStore', 'mongoConnectionString', 'mongoDatabase']));
		expect(byName.namespace.default).toBe('leads');
		expect(byName.mongoConnectionString.typeOptions?.password).toBe(true);
		expect(byName.mongoConnectionString.displayOptions).toEqual({ show: { leadStore: ['mongodb'] } });
	});
	// The credential's Test button (PING, version, settings, MongoDB ping) is tested in redis-credential-test.test.ts.
});
