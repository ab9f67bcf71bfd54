import type Redis from 'ioredis';

import { closeSharedRedis } from '../../nodes/shared/queue';
import { deletePrefix, testRedis, uniquePrefix } from '../support/redis';
import { readMessages } from '../support/streams';
import { callWebhook } from '../../scripts/engine-harness/call-webhook';
import { errorOf, outputOf, type WorkflowJson } from '../../scripts/engine-harness/run-workflow';
import { json, leadTriggerCredentials, leadTriggerWorkflow, postToLeadTrigger } from './workflows/lead-trigger-workflow';

// A hostile form body: keys that n8n's expression engine cannot clone, at every depth.
const prefix = uniquePrefix('lead-trigger-hostile');
let redis: Redis;
let n = 0;

beforeAll(() => {
	redis = testRedis();
});
afterAll(async () => {
	await deletePrefix(redis, prefix);
	await closeSharedRedis();
	redis.disconnect();
});

const hostileBody =
	'{"name":"Eve","email":"eve@example.com","constructor":{"prototype":{"polluted":1}},"__proto__":{"isAdmin":true},' +
	'"prototype":"x","utm":{"source":"ads","constructor":"y"},"answers":[{"q":"a","__proto__":{"z":1}}],"deep":{"a":{"constructor":{"name":"Object"}}}}';

const FORBIDDEN = new Set(['constructor', '__proto__', 'prototype']);
function forbiddenKeys(value: unknown, path = '$'): string[] {
	if (value === null || typeof value !== 'object') return [];
	return Object.keys(value).flatMap((key) => [
		...(FORBIDDEN.has(key) ? [`${path}.${key}`] : []),
		...forbiddenKeys((value as Record<string, unknown>)[key], `${path}.${key}`),
	]);
}

/** Lead Trigger → Redis Stream Add whose message is an expression reading $json.raw. */
function intoExpressionNode(parameters: Record<string, unknown>, downstream: string): WorkflowJson {
	const workflow = leadTriggerWorkflow(parameters);
	workflow.nodes.push({
		id: 'l0000000-0000-4000-8000-000000000009',
		name: 'Use Raw',
		type: 'n8n-nodes-lead-pipeline.redisStream',
		typeVersion: 1,
		position: [600, -100],
		parameters: { operation: 'add', stream: downstream, payload: 'custom', message: '={{ { "raw": $json.raw, "name": $json.name, "deep": $json.raw.deep } }}' },
		credentials: { leadPipelineRedis: { id: 'lp-redis', name: 'Lead Pipeline Redis' } },
	});
	workflow.connections.Leads = { main: [[{ node: 'Use Raw', type: 'main', index: 0 }]] };
	return workflow;
}

describe('Lead Trigger › hostile keys and raw caps', () => {
	test('constructor / __proto__ / prototype never leave the trigger; a downstream expression reads raw', async () => {
		n++;
		const s = `${prefix}${n}:filterQueue`;
		const downstream = `${prefix}${n}:used`;
		const result = await callWebhook(
			intoExpressionNode({ source: 'website', stream: s }, downstream),
			{ method: 'POST', headers: { 'content-type': 'application/json' }, body: hostileBody },
			{ credentials: leadTriggerCredentials },
		);
		expect(result.status).toBe(202);
		expect(errorOf(result.run!)).toBeUndefined();
		const [lead] = outputOf(result.run!, 'Lead Trigger');
		expect(forbiddenKeys(lead)).toEqual([]);
		expect(() => structuredClone(lead)).not.toThrow();
		expect(lead.raw).toEqual({ name: 'Eve', email: 'eve@example.com', utm: { source: 'ads' }, answers: [{ q: 'a' }], deep: { a: {} } });

		const [stored] = await readMessages<Record<string, unknown>>(redis, s);
		expect(forbiddenKeys(stored)).toEqual([]);
		const [used] = await readMessages<Record<string, unknown>>(redis, downstream);
		expect(used).toEqual({ raw: lead.raw, name: 'Eve', deep: { a: {} } });
	});

	test('the same for urlencoded forms', async () => {
		n++;
		const s = `${prefix}${n}:filterQueue`;
		const result = await postToLeadTrigger(
			{ source: 'website', stream: s },
			{ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=Eve&email=eve%40example.com&constructor=x&__proto__=y' },
		);
		expect(result.status).toBe(202);
		const [lead] = outputOf(result.run!, 'Lead Trigger');
		expect(lead.raw).toEqual({ name: 'Eve', email: 'eve@example.com' });
	});

	test('raw over the size cap is replaced by a note; deeper than the depth cap is cut; raw can be left out', async () => {
		n++;
		const s = `${prefix}${n}:filterQueue`;
		const big = { name: 'Big', email: 'big@example.com', notes: 'x'.repeat(5000) };
		const capped = await postToLeadTrigger({ source: 'website', stream: s, options: { rawMaxBytes: 1024 } }, json(big));
		const [bigLead] = outputOf(capped.run!, 'Lead Trigger');
		expect(bigLead.raw).toEqual({ truncated: true, reason: expect.stringMatching(/over the 1024-byte cap/), bytes: expect.any(Number) });
		expect(bigLead.email).toBe('big@example.com');

		const deep = { name: 'Deep', email: 'deep@example.com', a: { b: { c: { d: 'too deep' } } } };
		const cut = await postToLeadTrigger({ source: 'website', stream: s, options: { rawMaxDepth: 2 } }, json(deep));
		expect(outputOf(cut.run!, 'Lead Trigger')[0].raw).toEqual({ name: 'Deep', email: 'deep@example.com', a: { b: '[cut: deeper than 2 levels]' } });

		const none = await postToLeadTrigger({ source: 'website', stream: s, options: { includeRaw: false } }, json(big));
		expect(outputOf(none.run!, 'Lead Trigger')[0]).not.toHaveProperty('raw');
		const stored = await readMessages<{ leadData: Record<string, unknown> }>(redis, s);
		expect(stored.map((m) => 'raw' in m.leadData)).toEqual([true, true, false]);
	});
});
