import { createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type Redis from 'ioredis';

import { LeadTrigger } from '../../nodes/LeadTrigger/LeadTrigger.node';
import { closeSharedRedis } from '../../nodes/shared/queue';
import { deletePrefix, testRedis, uniquePrefix } from '../support/redis';
import type { WebhookRequestSpec } from '../../scripts/engine-harness/call-webhook';
import { FORM_SECRET, postToLeadTrigger } from './workflows/lead-trigger-workflow';

// Issue 25 item 13 (part): Require Timestamp must be off for a new form trigger, and the shipped
// templates' signed triggers (bulk import, bots) must keep taking posts signed without a timestamp.
// Require Timestamp is an entry of the Options collection: n8n stores the options a user added,
// so a saved workflow that turned it on keeps it on whatever the default is.
const prefix = uniquePrefix('lead-trigger-timestamp-default');
let redis: Redis;
let n = 0;

beforeAll(() => {
	redis = testRedis();
});
afterAll(async () => {
	await deletePrefix(redis, prefix);
	const keys = await redis.keys(`lead:seen:*${encodeURIComponent(prefix)}*`);
	if (keys.length) await redis.del(...keys);
	await closeSharedRedis();
	redis.disconnect();
});

function signedWithoutTimestamp(body: object): WebhookRequestSpec {
	const raw = JSON.stringify(body);
	const signature = createHmac('sha256', FORM_SECRET).update(raw).digest('hex');
	return { method: 'POST', headers: { 'content-type': 'application/json', 'X-Lead-Signature': `sha256=${signature}` }, body: raw };
}

type TemplateNode = { type: string; parameters: Record<string, unknown> };
const templateTriggers = (file: string) =>
	(JSON.parse(readFileSync(join(__dirname, '../../workflows', file), 'utf8')) as { nodes: TemplateNode[] }).nodes.filter((node) => node.type.endsWith('.leadTrigger'));

describe('Lead Trigger › Require Timestamp default', () => {
	test('the option defaults to off', () => {
		const options = new LeadTrigger().description.properties.find((p) => p.name === 'options');
		const requireTimestamp = (options?.options as Array<{ name: string; default: unknown }>).find((o) => o.name === 'requireTimestamp');
		expect(requireTimestamp?.default).toBe(false);
	});

	test('a new HMAC form trigger takes a post signed without a timestamp', async () => {
		const result = await postToLeadTrigger({ source: 'website', stream: `${prefix}new:filterQueue`, authentication: 'hmac', options: {} }, signedWithoutTimestamp({ name: 'A', email: 'a@example.com' }));
		expect(result.status).toBe(202);
	});

	test('the lead-intake template\'s signed triggers (import, bots) take a post signed without a timestamp', async () => {
		const signedTriggers = templateTriggers('lead-intake.json').filter((node) => node.parameters.authentication === 'hmac');
		expect(signedTriggers.map((node) => node.parameters.source).sort()).toEqual(['website', 'whatsappBot']);
		for (const node of signedTriggers) {
			const stream = `${prefix}${++n}:filterQueue`;
			const body = node.parameters.source === 'whatsappBot' ? { botId: 'b1', messageId: `m-${n}`, phone: '9845098450', name: 'Bot lead' } : { importId: `imp-${prefix}${n}`, leads: [{ name: 'A', email: 'a@example.com' }] };
			const result = await postToLeadTrigger({ ...node.parameters, stream }, signedWithoutTimestamp(body));
			expect([node.parameters.path, result.status]).toEqual([node.parameters.path, node.parameters.source === 'website' ? 200 : 202]);
		}
	});
});
