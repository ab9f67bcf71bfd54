// The numbers per stage of a running pipeline, read from where the pipeline keeps them: the
// streams (queues, dead letters, duplicates log), the lead store (opportunities: process, CRM
// push), the WhatsApp message log (sent / delivered) and, for webhooks, the receiving end.
// Queue figures come from the same queueHealth() the dashboard renders.

const QUEUES = [
	{ stream: 'filterQueue', group: 'newOpportunityProcessor' },
	{ stream: 'syncQueue', group: 'syncQueueProcessor' },
	{ stream: 'outreachQueue', group: 'outreachSender' },
];
export const DEAD_LETTER_STREAMS = [
	'DLQLeadIntake',
	'DLQFilterQueueNewOpportunityProcessor',
	'DLQFilterQueueItems',
	'DLQSyncQueueSyncQueueProcessor',
	'DLQCrmSync',
	'DLQOutreachQueueOutreachSender',
	'DLQOutreach',
	'DLQWebhookDelivery',
];

async function scanValues(redis, pattern, read) {
	const values = [];
	let cursor = '0';
	do {
		const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
		cursor = next;
		if (keys.length) values.push(...(await read(keys)));
	} while (cursor !== '0');
	return values;
}

async function pendingOf(redis, stream, group) {
	try {
		return Number((await redis.xpending(stream, group))[0]);
	} catch {
		return 0; // no group yet
	}
}

/** Everything the sample table and the e2e test count. `receiver` = the stand-ins' summary (optional). */
export async function pipelineStats(redis, { namespace = 'leads', receiver } = {}) {
	const opportunities = (await scanValues(redis, `${namespace}:opportunity:*`, (keys) => redis.mget(keys))).filter(Boolean).map((raw) => JSON.parse(raw));
	const perProcess = { NO_FILTER: 0, PSV: 0, WEST: 0, UNKNOWN: 0, UPCOMING: 0, notRouted: 0 };
	let crmSynced = 0;
	for (const o of opportunities) {
		perProcess[o.filtrationProcess ?? 'notRouted'] = (perProcess[o.filtrationProcess ?? 'notRouted'] ?? 0) + 1;
		if (o.crm?.isPushed || o.isPushed) crmSynced++;
	}
	const messages = await scanValues(redis, `${namespace}:wa:msg:*`, async (keys) => {
		const pipeline = redis.pipeline();
		for (const key of keys) pipeline.hget(key, 'status');
		return (await pipeline.exec()).map(([, status]) => status);
	});
	const whatsApp = { sent: messages.length, delivered: messages.filter((s) => s === 'DELIVERED' || s === 'READ').length, failed: messages.filter((s) => s === 'FAILED').length };
	const queues = {};
	for (const { stream, group } of QUEUES) queues[stream] = { length: await redis.xlen(stream), pending: await pendingOf(redis, stream, group) };
	const deadLetters = {};
	for (const stream of DEAD_LETTER_STREAMS) deadLetters[stream] = await redis.xlen(stream);
	const syncMessages = (await redis.xrange('syncQueue', '-', '+')).map(([, fields]) => JSON.parse(fields[fields.indexOf('message') + 1]));
	return {
		received: await redis.xlen('filterQueue'),
		keptAside: await redis.xlen('DLQLeadIntake'),
		duplicates: await redis.xlen(`${namespace}:duplicates`),
		opportunities: opportunities.length,
		perProcess,
		syncQueued: { created: syncMessages.filter((m) => m.action === 'CREATE').length, promoted: syncMessages.filter((m) => m.action === 'PROMOTE_FROM_FILTER').length },
		manualReview: await redis.xlen('manualReviewQueue'),
		crmSynced,
		whatsApp,
		webhooks: receiver?.webhooks ?? {},
		crm: receiver?.crm,
		queues,
		deadLetters,
	};
}

/** The stats as a plain-text table, one row per stage. */
export function statsTable(stats, { rejectedAtIntake = 0 } = {}) {
	const rows = [
		['Received (accepted into filterQueue)', stats.received],
		['Rejected at intake (400, invalid)', rejectedAtIntake],
		['Kept aside (honeypot / unsupported)', stats.keptAside],
		['Duplicates', stats.duplicates],
		['New opportunities', stats.opportunities],
		...Object.entries(stats.perProcess).filter(([p, n]) => p !== 'notRouted' || n).map(([p, n]) => [`  routed ${p}`, n]),
		['Waiting for manual review', stats.manualReview],
		['Sync queue: created / promoted', `${stats.syncQueued.created} / ${stats.syncQueued.promoted}`],
		['CRM-synced', stats.crmSynced],
		['WhatsApp sent / delivered / failed', `${stats.whatsApp.sent} / ${stats.whatsApp.delivered} / ${stats.whatsApp.failed}`],
		...Object.entries(stats.webhooks).map(([path, w]) => [`Webhooks delivered ${path}`, `${w.uniqueIds}${w.received !== w.uniqueIds ? ` (${w.received} requests)` : ''}`]),
		...Object.entries(stats.queues).map(([q, v]) => [`Queue ${q}: length / pending`, `${v.length} / ${v.pending}`]),
		...Object.entries(stats.deadLetters).map(([s, n]) => [`DLQ ${s}`, n]),
	];
	const width = Math.max(...rows.map(([label]) => label.length));
	return rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`).join('\n');
}
