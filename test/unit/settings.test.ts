import { DEFAULT_PIPELINE_SETTINGS, effectiveTimeZone, pipelineSettingsFrom, withOverrides } from '../../nodes/shared/lead/settings';

describe('pipeline settings (set once on the credential)', () => {
	test('empty fields take the defaults: namespace leads, filterQueue, syncQueue, n8n time zone, Redis store', () => {
		expect(pipelineSettingsFrom({})).toEqual({ ...DEFAULT_PIPELINE_SETTINGS });
		expect(pipelineSettingsFrom({ namespace: '  ', filterQueue: '', syncQueue: undefined, timeZone: '' })).toEqual({
			namespace: 'leads', filterQueue: 'filterQueue', syncQueue: 'syncQueue', timeZone: '', leadStore: 'redis',
		});
	});

	test('values are trimmed and kept', () => {
		expect(pipelineSettingsFrom({ namespace: ' brandA ', filterQueue: 'fq', syncQueue: 'sq', timeZone: 'Asia/Kolkata' })).toMatchObject({
			namespace: 'brandA', filterQueue: 'fq', syncQueue: 'sq', timeZone: 'Asia/Kolkata',
		});
	});

	test('errors name the field to fix', () => {
		expect(() => pipelineSettingsFrom({ timeZone: 'Mars/Olympus' })).toThrow(/^Time Zone "Mars\/Olympus" is not an IANA time zone/);
		expect(() => pipelineSettingsFrom({ syncQueue: 'sync queue' })).toThrow(/^Sync Queue must not contain spaces/);
		expect(() => pipelineSettingsFrom({ leadStore: 'postgres' })).toThrow(/^Lead Store must be one of redis, mongodb/);
		expect(() => pipelineSettingsFrom({ leadStore: 'mongodb' })).toThrow(/^MongoDB Connection String must start with mongodb:\/\//);
	});

	test('MongoDB: connection string and database (default leadPipeline) come from the same credential', () => {
		expect(pipelineSettingsFrom({ leadStore: 'mongodb', mongoConnectionString: 'mongodb://db:27017' }).mongo).toEqual({ connectionString: 'mongodb://db:27017', database: 'leadPipeline' });
		expect(pipelineSettingsFrom({ leadStore: 'mongodb', mongoConnectionString: 'mongodb+srv://u:p@c.example.net', mongoDatabase: 'crm' }).mongo?.database).toBe('crm');
	});

	test("a node's override wins only where it is filled in", () => {
		const base = pipelineSettingsFrom({ namespace: 'brandA' });
		expect(withOverrides(base, {})).toEqual(base);
		expect(withOverrides(base, { namespace: 'brandB' }).namespace).toBe('brandB');
		expect(() => withOverrides(base, { leadStore: 'mongodb' }, {})).toThrow(/MongoDB Connection String/);
		expect(withOverrides(base, { leadStore: 'mongodb' }, { mongoConnectionString: 'mongodb://x' }).mongo?.connectionString).toBe('mongodb://x');
	});

	test("time zone: the setting, else n8n's", () => {
		expect(effectiveTimeZone(pipelineSettingsFrom({}), 'Europe/Berlin')).toBe('Europe/Berlin');
		expect(effectiveTimeZone(pipelineSettingsFrom({ timeZone: 'Asia/Kolkata' }), 'Europe/Berlin')).toBe('Asia/Kolkata');
	});
});
