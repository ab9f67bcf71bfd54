import type { ICredentialsDecrypted, ICredentialTestFunctions, INodeCredentialTestResult, INodeType } from 'n8n-workflow';

import { packNodeTypes } from '../../scripts/engine-harness/run-workflow';
import { startOldRedis } from '../../sandbox/oldRedis';
import { redisCredential } from '../support/redis';

/**
 * One credential, one Test button: n8n runs the `testedBy` method of whichever node it finds first,
 * so every node that names the Lead Pipeline Redis credential must register the very same function.
 */
type CredentialTest = (this: ICredentialTestFunctions, credential: ICredentialsDecrypted) => Promise<INodeCredentialTestResult>;

const TEST_NAME = 'leadPipelineRedisConnectionTest';

function packNodes(): Array<[string, INodeType]> {
	return [...packNodeTypes().nodes.entries()].filter(([type]) => type.startsWith('n8n-nodes-lead-pipeline.'));
}

function registered(node: INodeType): Record<string, CredentialTest> {
	return (node.methods?.credentialTest ?? {}) as Record<string, CredentialTest>;
}

/** Every node that lists the Redis credential, with the test function it registers for it. */
function redisCredentialTests(): Array<[string, CredentialTest | undefined]> {
	return packNodes()
		.filter(([, node]) => (node.description.credentials ?? []).some((c) => c.name === 'leadPipelineRedis'))
		.map(([type, node]) => [type, registered(node)[TEST_NAME]]);
}

const credential = (data: Record<string, unknown>): ICredentialsDecrypted => ({ id: 'c', name: 'Lead Pipeline Redis', type: 'leadPipelineRedis', data: data as ICredentialsDecrypted['data'] });

/**
 * Runs the Test button the way n8n does (the node's method, called with a credential-test context)
 * with every distinct function the nodes register, so no node's Test can behave differently.
 */
async function pressTest(data: Record<string, unknown>): Promise<INodeCredentialTestResult> {
	const distinct = [...new Set(redisCredentialTests().map(([, fn]) => fn))].filter((fn): fn is CredentialTest => typeof fn === 'function');
	const results = await Promise.all(distinct.map(async (fn) => await fn.call({} as ICredentialTestFunctions, credential(data))));
	for (const result of results.slice(1)) expect(result).toEqual(results[0]);
	return results[0];
}

describe('Lead Pipeline Redis credential Test: one function for every node', () => {
	test('every node naming the credential tests it with the same method name and the same function', () => {
		const tests = redisCredentialTests();
		expect(tests.length).toBeGreaterThanOrEqual(9);
		for (const [type, node] of packNodes()) {
			for (const entry of node.description.credentials ?? []) {
				if (entry.name === 'leadPipelineRedis') expect({ type, testedBy: entry.testedBy }).toEqual({ type, testedBy: TEST_NAME });
			}
		}
		const missing = tests.filter(([, fn]) => typeof fn !== 'function').map(([type]) => type);
		expect(missing).toEqual([]);
		const distinct = new Set(tests.map(([, fn]) => fn));
		expect({ distinctFunctions: distinct.size, nodes: tests.map(([type]) => type) }).toMatchObject({ distinctFunctions: 1 });
	});

	test('no node registers a different function under the name anywhere else either', () => {
		const byName = new Map<string, Set<CredentialTest>>();
		for (const [, node] of packNodes()) {
			for (const [name, fn] of Object.entries(registered(node))) byName.set(name, (byName.get(name) ?? new Set()).add(fn));
		}
		const clashes = [...byName.entries()].filter(([, fns]) => fns.size > 1).map(([name]) => name);
		expect(clashes).toEqual([]);
	});

	test('success: exactly the text the e2e checks on real n8n', async () => {
		const result = await pressTest(redisCredential());
		expect(result.status).toBe('OK');
		expect(result.message).toBe('Connected: PING answered PONG');
	});

	test('a Redis older than 6.2 fails and says why', async () => {
		const old = await startOldRedis('6.0.16');
		try {
			const result = await pressTest({ connectionType: 'hostPort', host: '127.0.0.1', port: old.port });
			expect(result.status).toBe('Error');
			expect(result.message).toMatch(/Redis 6\.0\.16 is older than 6\.2.*XAUTOCLAIM/);
		} finally {
			await old.close();
		}
	});

	test('bad Pipeline Settings name the field', async () => {
		expect(await pressTest({ ...redisCredential(), timeZone: 'Nowhere/Else' })).toEqual({
			status: 'Error',
			message: expect.stringMatching(/^Pipeline Settings: Time Zone "Nowhere\/Else" is not an IANA time zone/),
		});
	});

	test('with MongoDB as the lead store it pings MongoDB too; its password never shows', async () => {
		const result = await pressTest({ ...redisCredential(), leadStore: 'mongodb', mongoConnectionString: 'mongodb://app:s3cret-pw@127.0.0.1:1/?serverSelectionTimeoutMS=300' });
		expect(result).toMatchObject({ status: 'Error', message: expect.stringMatching(/^Redis is fine, MongoDB is not/) });
		expect(result.message).not.toContain('s3cret-pw');
	}, 15_000);

	test('a wrong Redis password fails without showing the password or the URL', async () => {
		const url = new URL(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379');
		const secret = 'wr0ng-s3cret-pw';
		const byFields = await pressTest({ ...redisCredential(), username: 'nobody-here', password: secret });
		const byUrl = await pressTest({ connectionType: 'url', url: `redis://nobody-here:${secret}@${url.host}/0` });
		for (const result of [byFields, byUrl]) {
			expect(result.status).toBe('Error');
			expect(result.message).not.toContain(secret);
		}
	});
});
