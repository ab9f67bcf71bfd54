import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { INodeProperties, INodePropertyCollection, INodeType } from 'n8n-workflow';

import { CrmSync } from '../../nodes/CrmSync/CrmSync.node';
import { LeadTrigger } from '../../nodes/LeadTrigger/LeadTrigger.node';
import { RedisStreamConsumerTrigger } from '../../nodes/RedisStreamConsumerTrigger/RedisStreamConsumerTrigger.node';
import { WebhookDeliver } from '../../nodes/WebhookDeliver/WebhookDeliver.node';
import { WhatsAppSend } from '../../nodes/WhatsAppSend/WhatsAppSend.node';
import { DEFAULT_DLQ_CAP } from '../../nodes/shared/queue/streams';
import { dlqStreamName } from '../../nodes/shared/queue/streamGroup';

// Every stream the shipped templates consume from, and every dead-letter stream they write, read
// from workflows/*.json at test time (a template that gains a queue or a DLQ is checked too), and
// the dashboard template must show each of them.

type Params = Record<string, unknown>;
interface TemplateNode { name: string; type: string; parameters: Params }

const dir = join(__dirname, '..', '..', 'workflows');
const templates = readdirSync(dir)
	.filter((f) => f.endsWith('.json'))
	.map((file) => ({ file, nodes: (JSON.parse(readFileSync(join(dir, file), 'utf8')) as { nodes: TemplateNode[] }).nodes }));

const PACK = 'n8n-nodes-lead-pipeline.';
const nodeTypes: Record<string, INodeType> = {
	leadTrigger: new LeadTrigger(),
	webhookDeliver: new WebhookDeliver(),
	whatsAppSend: new WhatsAppSend(),
	crmSync: new CrmSync(),
	redisStreamConsumerTrigger: new RedisStreamConsumerTrigger(),
};

/** Parameters that name a stream a node dead-letters (or keeps rejected entries) in, at any depth. */
const DEAD_LETTER_PARAMETER = /^(dlqStream|deadLetterStream|rejectedStream)$/;
/** Their caps, where the node has one. */
const CAP_PARAMETER: Record<string, string> = { dlqStream: 'dlqMaxLen', deadLetterStream: 'dlqMaxLen', rejectedStream: 'rejectedStreamCap' };

/** [path, property] for every property, descending into collections. */
function walk(properties: INodeProperties[], path: string[] = []): Array<[string[], INodeProperties]> {
	return properties.flatMap((p): Array<[string[], INodeProperties]> => {
		const here: Array<[string[], INodeProperties]> = [[[...path, p.name], p]];
		if (p.type === 'collection') return [...here, ...walk((p.options ?? []) as INodeProperties[], [...path, p.name])];
		if (p.type === 'fixedCollection') {
			return [...here, ...((p.options ?? []) as INodePropertyCollection[]).flatMap((c) => walk(c.values, [...path, p.name, c.name]))];
		}
		return here;
	});
}

function valueAt(params: Params, path: string[]): unknown {
	return path.reduce<unknown>((o, key) => (o && typeof o === 'object' ? (o as Params)[key] : undefined), params);
}

interface ConsumedQueue { file: string; stream: string; group: string; dlqStream: string; dlqCap: number }
interface DeadLetterStream { file: string; node: string; stream: string; cap?: number }

function collect() {
	const consumed: ConsumedQueue[] = [];
	const deadLetters: DeadLetterStream[] = [];
	for (const { file, nodes } of templates) {
		for (const node of nodes) {
			if (!node.type.startsWith(PACK)) continue;
			const kind = node.type.slice(PACK.length);
			const p = node.parameters;
			if (kind === 'redisStreamConsumerTrigger') {
				const options = (p.options ?? {}) as Params;
				const stream = String(p.stream);
				const group = String(p.group);
				consumed.push({ file, stream, group, dlqStream: String(options.dlqStream || dlqStreamName(stream, group)), dlqCap: Number(options.dlqMaxLen ?? DEFAULT_DLQ_CAP) });
				continue;
			}
			if (kind === 'redisStream') {
				// A Redis Stream node writing a DLQ… stream: a template's own dead-letter path.
				if ((p.operation ?? 'add') === 'add' && /^DLQ/i.test(String(p.stream))) deadLetters.push({ file, node: node.name, stream: String(p.stream) });
				// Its Add Dead Letter operation: the dead-letter stream and its cap (default DEFAULT_DLQ_CAP).
				if (p.operation === 'addDeadLetter') {
					const cap = Number(((p.deadLetterOptions ?? {}) as Params).dlqMaxLen ?? DEFAULT_DLQ_CAP);
					deadLetters.push({ file, node: node.name, stream: String(p.dlqStream), cap });
				}
				continue;
			}
			const type = nodeTypes[kind];
			if (!type) continue;
			// Dead-lettering is off on this node (Webhook Deliver without Redis or with it turned off).
			if (p.useRedis === false || (kind === 'webhookDeliver' && p.useRedis !== true) || p.deadLetter === false) continue;
			const all = walk(type.description.properties);
			for (const [path, property] of all) {
				if (!DEAD_LETTER_PARAMETER.test(property.name)) continue;
				const stream = String(valueAt(p, path) || property.default || '');
				if (!stream) continue;
				const capName = CAP_PARAMETER[property.name];
				const capPath = [...path.slice(0, -1), capName];
				const capProperty = all.find(([q]) => q.join('.') === capPath.join('.'))?.[1];
				const cap = capProperty ? Number(valueAt(p, capPath) ?? capProperty.default ?? 0) : undefined;
				deadLetters.push({ file, node: node.name, stream, cap });
			}
		}
	}
	return { consumed, deadLetters };
}

function metricsNode(file: string) {
	const template = templates.find((t) => t.file === file)!;
	return template.nodes.find((n) => n.type === `${PACK}leadPipelineMetrics`)!.parameters;
}

interface QueueRow { stream: string; group: string; dlqStream?: string; dlqCap?: number }
interface DeadLetterRow { stream: string; cap?: number }

describe('the dashboard template shows every queue and dead-letter stream the templates use', () => {
	const { consumed, deadLetters } = collect();
	const dashboard = metricsNode('lead-pipeline-dashboard.json');
	const queueRows = ((dashboard.queues as { queue?: QueueRow[] })?.queue ?? []);
	const deadLetterRows = ((dashboard.deadLetters as { deadLetter?: DeadLetterRow[] })?.deadLetter ?? []);
	const consumerDlqs = new Set(consumed.map((q) => q.dlqStream));

	test('the templates are read: the queues and DLQs the issue names are among them', () => {
		const streams = consumed.map((q) => q.stream);
		expect(streams).toEqual(expect.arrayContaining(['filterQueue', 'syncQueue', 'outreachQueue', 'webhookRetryQueue:leadSynced', 'webhookRetryQueue:west']));
		expect(deadLetters.map((d) => d.stream)).toEqual(expect.arrayContaining(['DLQLeadIntake', 'DLQWebhookDelivery', 'DLQCrmSync', 'DLQFilterQueueItems', 'DLQOutreach']));
	});

	test('a queue row for every consumed stream, with the consumer\'s DLQ and its cap', () => {
		for (const q of consumed) {
			const row = queueRows.find((r) => r.stream === q.stream && r.group === q.group);
			expect({ ...q, row }).toEqual({ ...q, row: expect.objectContaining({ stream: q.stream, group: q.group }) });
			expect({ queue: q.stream, dlq: row!.dlqStream || dlqStreamName(row!.stream, row!.group), cap: Number(row!.dlqCap ?? 0) }).toEqual({ queue: q.stream, dlq: q.dlqStream, cap: q.dlqCap });
		}
	});

	test('a dead-letter row for every other DLQ a template writes, with its cap where the writer has one', () => {
		for (const d of deadLetters.filter((x) => !consumerDlqs.has(x.stream))) {
			const row = deadLetterRows.find((r) => r.stream === d.stream);
			expect({ ...d, row }).toEqual({ ...d, row: expect.objectContaining({ stream: d.stream }) });
			if (d.cap !== undefined) expect({ stream: d.stream, cap: Number(row!.cap ?? 0) }).toEqual({ stream: d.stream, cap: d.cap });
		}
	});

	test('the queue-health template watches every consumed queue too', () => {
		const rows = ((metricsNode('queue-health.json').queues as { queue?: QueueRow[] })?.queue ?? []);
		for (const q of consumed) expect({ stream: q.stream, covered: rows.some((r) => r.stream === q.stream && r.group === q.group) }).toEqual({ stream: q.stream, covered: true });
	});
});
