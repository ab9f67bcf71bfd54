import type { ICredentialsDecrypted } from 'n8n-workflow';

import { testPipelineCredential } from '../../nodes/common/pipelineSettings';
import { packNodeTypes } from './harness/run-workflow';
import { redisCredential } from '../support/redis';

const credential = (data: Record<string, unknown>): ICredentialsDecrypted => ({ id: 'c', name: 'Lead Pipeline Redis', type: 'leadPipelineRedis', data: data as ICredentialsDecrypted['data'] });

describe('Pipeline Settings on the Lead Pipeline Redis credential', () => {
	test('the credential carries the settings fields, MongoDB ones only when MongoDB is the lead store', () => {
		const fields = packNodeTypes().credentials.get('leadPipelineRedis')!.properties;
		const byName = Object.fromEntries(fields.map((f) => [f.name, f]));
		expect(Object.keys(byName)).toEqual(expect.arrayContaining(['namespace', 'timeZone', 'filterQueue', 'syncQueue', 'leadStore', 'mongoConnectionString', 'mongoDatabase']));
		expect(byName.namespace.default).toBe('leads');
		expect(byName.mongoConnectionString.typeOptions?.password).toBe(true);
		expect(byName.mongoConnectionString.displayOptions).toEqual({ show: { leadStore: ['mongodb'] } });
	});

	test('Test button: Redis PING; with bad settings it says which field', async () => {
		expect(await testPipelineCredential(credential(redisCredential()))).toMatchObject({ status: 'OK' });
		expect(await testPipelineCredential(credential({ ...redisCredential(), timeZone: 'Nowhere/Else' }))).toEqual({
			status: 'Error',
			message: expect.stringMatching(/^Pipeline Settings: Time Zone "Nowhere\/Else" is not an IANA time zone/),
		});
	});

	test('Test button with MongoDB chosen pings MongoDB too; the connection string password never shows', async () => {
		const result = await testPipelineCredential(credential({ ...redisCredential(), leadStore: 'mongodb', mongoConnectionString: 'mongodb://app:s3cret-pw@127.0.0.1:1/?serverSelectionTimeoutMS=300' }));
		expect(result).toMatchObject({ status: 'Error', message: expect.stringMatching(/^Redis is fine, MongoDB is not/) });
		expect(result.message).not.toContain('s3cret-pw');
	}, 15_000);
});
