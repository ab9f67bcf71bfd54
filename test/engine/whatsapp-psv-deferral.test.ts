import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { IConnections, IDataObject, INode } from 'n8n-workflow';

import { closeHttpAgents } from '../../nodes/shared/http';
import { closeSharedRedis } from '../../nodes/shared/queue';
import { useWhatsAppClock } from '../../nodes/shared/whatsapp/clock';
import { startGraphSandbox, type GraphSandbox } from '../../sandbox/graphApi';
import { fixedClock } from '../support/clock';
import { deletePrefix, redisCredential, testRedis, uniquePrefix } from '../support/redis';
import { outputOf, runWorkflow, type WorkflowJson } from '../../scripts/engine-harness/run-workflow';

/**
 * The shipped templates, run through the engine: a PSV qualification template that has to wait is
 * queued on outreachQueue carrying that message, and the Outreach workflow's WhatsApp Send sends
 * that template (same name, language, parameters), not the welcome text. A send whose outcome is
 * unknown leaves the Outreach send by Not Sent (to the dead letter), never by Deferred (the Wait
 * loop), and a second pass sends nothing.
 */

interface Template {
	nodes: INode[];
	connections: IConnections;
}
const load = (name: string): Template => JSON.parse(readFileSync(join(__dirname, '..', '..', 'workflows', name), 'utf8')) as Template;
const filterQueue = load('filter-queue.json');
const outreach = load('outreach.json');
const PSV = 'PSV: WhatsApp qualification';
const RETRY = 'Retry later via outreach queue';
const WELCOME = 'WhatsApp welcome';

const redis = testRedis();
const ns = uniquePrefix('whatsapp-psv');
let graph: GraphSandbox;

beforeAll(async () => {
	graph = await startGraphSandbox({ templates: [{ name: 'lead_qualification', language: 'en', bodyParams: 1 }] });
	graph.hangMs = 1200;
	// Monday 30 March 2026, 10:00 in Jerusalem: inside the Outreach hours (Mon-Sat 09:00-20:00).
	useWhatsAppClock(fixedClock('2026-03-30T07:00:00Z'));
});
afterAll(async () => {
	await deletePrefix(redis, ns);
	redis.disconnect();
	await graph.close();
	closeHttpAgents();
	await closeSharedRedis();
	useWhatsAppClock();
});
beforeEach(() => {
	graph.requests.length = 0;
});

const credentials = () => ({
	leadPipelineRedis: { ...redisCredential(), namespace: ns, timeZone: 'Asia/Jerusalem' },
	leadPipelineWhatsAppApi: { accessToken: graph.token, phoneNumberId: graph.phoneNumberId, graphApiVersion: graph.version, baseUrl: graph.url },
	leadPipelineQrSessionApi: { baseUrl: 'http://127.0.0.1:9', apiKey: 'qr-unused', sessionId: 'sales', allowInternal: true },
});

const START: INode = { id: 'b0000000-0000-4000-8000-000000000001', name: 'Start', type: 'n8n-nodes-base.manualTrigger', typeVersion: 1, position: [0, 0], parameters: {} };

/** A template node as shipped, pointed at the sandboxes (internal addresses, a test stream name). */
function shipped(template: Template, name: string, options: IDataObject = {}, parameters: IDataObject = {}): INode {
	const node = template.nodes.find((n) => n.name === name);
	if (!node) throw new Error(`the template has no node "${name}"`);
	const params = node.parameters as IDataObject;
	const merged = { ...params, ...parameters, ...(params.options !== undefined ? { options: { ...(params.options as IDataObject), ...options } } : {}) };
	return { ...node, parameters: merged as INode['parameters'] };
}

/** The template's own connection from `from`'s output `index`. */
function wiredTo(template: Template, from: string, index: number): string[] {
	return (template.connections[from]?.main?.[index] ?? []).map((c) => c.node);
}

let n = 0;
function filterQueueItem(phone: string): IDataObject {
	const traceId = `01JP${String(++n).padStart(22, '0')}`;
	return { id: `${n}-0`, stream: 'filterQueue', opportunityId: `OPP-${n}`, message: { traceId, source: 'meta', leadData: { name: 'Dana', phone, destination: 'Lisbon' } } };
}

async function outreachEntries(): Promise<IDataObject[]> {
	const entries = await redis.xrange(`${ns}:outreachQueue`, '-', '+');
	return entries.map(([id, fields]) => ({ id, stream: 'outreachQueue', deliveryCount: 1, message: JSON.parse(fields[fields.indexOf('message') + 1]) as IDataObject }));
}

async function runOutreach(entry: IDataObject, options: IDataObject = {}) {
	const workflow: WorkflowJson = {
		nodes: [START, shipped(outreach, WELCOME, { allowInternal: true, ...options })],
		connections: { Start: { main: [[{ node: WELCOME, type: 'main', index: 0 }]] } },
	};
	const run = await runWorkflow(workflow, { input: [entry], credentials: credentials(), mode: 'trigger' });
	return [0, 1, 2].map((i) => outputOf(run, WELCOME, i));
}

test('the templates wire PSV Deferred → the outreach queue, and Outreach Not Sent → the dead letter, Deferred → the Wait loop', () => {
	expect(wiredTo(filterQueue, PSV, 2)).toEqual([RETRY]);
	expect(wiredTo(outreach, WELCOME, 1)).toEqual(['Dead-letter: not sent']);
	expect(wiredTo(outreach, WELCOME, 2)).toEqual(['Wait until sendAfter']);
	expect(wiredTo(outreach, 'Wait until sendAfter', 0)).toEqual([WELCOME]);
});

test('a deferred PSV qualification is queued with its template, and the Outreach send sends that template', async () => {
	graph.script('972501239001', [130429, 130429, 130429]);
	const workflow: WorkflowJson = {
		nodes: [START, shipped(filterQueue, PSV, { allowInternal: true }), shipped(filterQueue, RETRY, {}, { stream: `${ns}:outreachQueue` })],
		connections: { Start: { main: [[{ node: PSV, type: 'main', index: 0 }]] }, [PSV]: { main: [[], [], wiredTo(filterQueue, PSV, 2).map((node) => ({ node, type: 'main', index: 0 }))] } },
	};
	const run = await runWorkflow(workflow, { input: [filterQueueItem('+972501239001')], credentials: credentials(), mode: 'trigger' });
	expect(outputOf(run, PSV, 2)).toHaveLength(1);
	expect(graph.requests).toHaveLength(3);
	const [entry] = await outreachEntries();
	expect((entry.message as IDataObject).whatsAppMessage).toEqual({ kind: 'template', name: 'lead_qualification', language: 'en', header: [], body: [{ text: 'Dana' }], buttons: [] });

	graph.requests.length = 0;
	const [sent] = await runOutreach(entry);
	expect(sent).toHaveLength(1);
	expect(graph.requests).toHaveLength(1);
	expect(graph.requests[0].body).toMatchObject({
		type: 'template',
		to: '972501239001',
		template: { name: 'lead_qualification', language: { code: 'en' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'Dana' }] }] },
	});
});

test('an outreach entry without a message still gets the welcome text', async () => {
	const traceId = `01JP${String(++n).padStart(22, '0')}`;
	const [sent] = await runOutreach({ id: '9-0', stream: 'outreachQueue', message: { traceId, name: 'Noa', phone: '+972501239002', destination: 'Rome' } });
	expect(sent).toHaveLength(1);
	expect(graph.requests[0].body).toMatchObject({ type: 'text', text: { body: 'Hi Noa, thanks for your interest in Rome! Your travel expert will call you shortly.' } });
});

test('Outreach: an unknown outcome goes to Not Sent (the dead letter), not Deferred (the Wait loop); a second pass POSTs nothing', async () => {
	const traceId = `01JP${String(++n).padStart(22, '0')}`;
	const entry = { id: '10-0', stream: 'outreachQueue', message: { traceId, name: 'Eli', phone: '+972501239003' } };
	graph.script('972501239003', ['acceptThenHang']);
	const [sent, notSent, deferred] = await runOutreach(entry, { timeoutSeconds: 0.3 });
	expect(sent).toEqual([]);
	expect(deferred).toEqual([]);
	expect(notSent.map((j) => (j.whatsApp as IDataObject).outcome)).toEqual(['unknown']);
	// The Wait loop (or a redelivery) runs the same send again: nothing goes out.
	const again = await runOutreach(entry, { timeoutSeconds: 0.3 });
	expect(again[1].map((j) => (j.whatsApp as IDataObject).outcome)).toEqual(['unknown']);
	expect(graph.requests).toHaveLength(1);
});
