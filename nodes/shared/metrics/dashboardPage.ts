import type { CounterName } from './counters';
import { barChart, escapeHtml, formatCount, formatDuration, formatRate, postForm } from './html';
import type { DeadLetterHealth } from './deadLetters';
import type { QueueHealth, HealthReport } from './queueHealth';
import { ratesOf, type DayMetrics, type LeadMetrics, type LeadRates } from './reader';

export interface DashboardView {
	health: HealthReport;
	/** A range ending today (the last day is "today"); 14 days for the charts. */
	metrics: LeadMetrics;
	now: Date;
	title?: string;
	/** Show the Pause/Resume and Replay buttons. Default true. */
	actions?: boolean;
	/** Seconds between automatic reloads; 0 = none. Default 10. */
	refreshSeconds?: number;
	/** A line shown above everything (e.g. "Editor test run: buttons change nothing"). */
	notice?: string;
}

const STYLE = `
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;padding:16px 20px;color:#111827;background:#f9fafb}
h1{font-size:20px;margin:0 0 4px}h2{font-size:16px;margin:24px 0 8px}
.muted{color:#6b7280;font-weight:normal;font-size:12px}
table{border-collapse:collapse;background:#fff;font-size:14px}th,td{border:1px solid #e5e7eb;padding:6px 10px;text-align:left;vertical-align:top}
th{background:#f3f4f6;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}
.red{background:#fee2e2;color:#991b1b;font-weight:600}.ok{color:#166534}
.badge{display:inline-block;padding:2px 8px;border-radius:10px;font-size:12px;font-weight:600}
.badge.red{background:#dc2626;color:#fff}.badge.ok{background:#dcfce7;color:#166534}.badge.paused{background:#fef3c7;color:#92400e}
.notice{background:#fef3c7;border:1px solid #f59e0b;padding:8px 12px;margin:8px 0}
.cards{display:flex;flex-wrap:wrap;gap:10px}.cards.tables{align-items:flex-start}.card{background:#fff;border:1px solid #e5e7eb;padding:8px 12px;min-width:150px}
.card .value{font-size:22px;font-weight:600}.card .label{font-size:12px;color:#6b7280}
.charts{display:flex;flex-wrap:wrap;gap:12px}.chart{background:#fff;border:1px solid #e5e7eb;margin:0;padding:8px}
.chart figcaption{font-size:13px;font-weight:600;margin-bottom:4px}
form.inline{display:inline;margin:0 4px 0 0}button{font:inherit;font-size:13px;padding:3px 10px;cursor:pointer}
button.danger{background:#dc2626;color:#fff;border:1px solid #991b1b}
`;

function page(title: string, body: string, refresh?: { seconds: number; url?: string }): string {
	const meta = refresh && refresh.seconds > 0
		? `<meta http-equiv="refresh" content="${refresh.seconds}${refresh.url !== undefined ? `;url=${escapeHtml(refresh.url)}` : ''}">`
		: '';
	return `<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">${meta}<title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>${body}</body></html>`;
}

/** "2025-03-14 09:25:07 UTC": one way of writing a time on the page; text that is not a time stays as it is. */
function utcTime(at: Date | string): string {
	const date = at instanceof Date ? at : new Date(at);
	return Number.isNaN(date.getTime()) ? String(at) : `${date.toISOString().replace('T', ' ').slice(0, 19)} UTC`;
}

function cell(value: string, red = false, numeric = true): string {
	const classes = [numeric ? 'num' : '', red ? 'red' : ''].filter(Boolean).join(' ');
	return `<td${classes ? ` class="${classes}"` : ''}>${value}</td>`;
}

function queueRow(q: QueueHealth, actions: boolean): string {
	const name = `<strong>${escapeHtml(q.stream)}</strong><br><span class="muted">group ${escapeHtml(q.group)}</span>`;
	const status = q.error
		? `<span class="badge red">Cannot read</span><br><span class="muted">${escapeHtml(q.error)}</span>`
		: q.paused
			? `<span class="badge paused">Paused</span>${q.pausedBy ? `<br><span class="muted">by ${escapeHtml(q.pausedBy)}${q.pausedAt ? ` at ${escapeHtml(utcTime(q.pausedAt))}` : ''}</span>` : ''}`
			: `<span class="badge ${q.state}">${q.state === 'red' ? 'Needs attention' : 'Running'}</span>`;
	const consumers = q.consumerDetails.length
		? q.consumerDetails.map((c) => `${escapeHtml(c.name)}: ${escapeHtml(formatCount(c.pending))} in flight, idle ${escapeHtml(formatDuration(c.idleMs))}`).join('<br>')
		: '<span class="muted">none</span>';
	const added = `${escapeHtml(formatCount(q.throughput.added))}${q.throughput.capped ? '+' : ''}`;
	const buttons: string[] = [];
	if (actions && !q.error) {
		const target = { stream: q.stream, group: q.group };
		buttons.push(q.paused ? postForm({ action: 'resume', ...target }, 'Resume') : postForm({ action: 'pause', ...target }, 'Pause', 'danger'));
		if (q.dlqSize > 0) buttons.push(postForm({ action: 'replay', ...target }, 'Replay dead letters'));
	}
	return [
		'<tr>',
		`<td>${name}</td>`,
		`<td>${status}</td>`,
		cell(escapeHtml(formatCount(q.lag)), q.alerts.backlog),
		cell(escapeHtml(formatCount(q.inFlight)), q.alerts.pending),
		cell(escapeHtml(formatDuration(q.oldestPending?.ageMs)), q.alerts.oldestPending),
		cell(added),
		cell(`${escapeHtml(formatCount(q.dlqSize))}<br><span class="muted">${escapeHtml(q.dlqStream)}</span>${capNote(q.dlqCap, q.dlqNearCap)}`, q.alerts.dlq || q.dlqNearCap),
		`<td>${consumers}</td>`,
		`<td>${buttons.join('') || '<span class="muted">—</span>'}</td>`,
		'</tr>',
	].join('');
}

/** " · cap 1,000" under a DLQ's size, with a warning once it is near (writers refuse at the cap). */
function capNote(cap: number, near: boolean): string {
	if (!(cap > 0)) return '';
	return `<br><span class="muted">cap ${escapeHtml(formatCount(cap))}</span>${near ? '<br><strong>Near its cap: replay or delete dead letters</strong>' : ''}`;
}

function deadLetterRow(d: DeadLetterHealth, actions: boolean): string {
	const status = d.error
		? `<span class="badge red">Cannot read</span><br><span class="muted">${escapeHtml(d.error)}</span>`
		: `<span class="badge ${d.state}">${d.nearCap ? 'Near its cap' : d.state === 'red' ? 'Needs attention' : d.length === 0 ? 'Empty' : 'Holding'}</span>`;
	const newest = d.newestAt
		? `${escapeHtml(utcTime(d.newestAt))}<br><span class="muted">${escapeHtml(formatDuration(d.newestAgeMs))} ago</span>`
		: '<span class="muted">—</span>';
	const replay = actions && !d.error && d.length > 0
		? d.replayable
			? postForm({ action: 'replay', dlq: d.stream }, 'Replay dead letters')
			: '<span class="muted">entries carry no original queue: replay them by hand</span>'
		: '<span class="muted">—</span>';
	return [
		'<tr>',
		`<td><strong>${escapeHtml(d.stream)}</strong></td>`,
		`<td>${status}</td>`,
		cell(`${escapeHtml(formatCount(d.length))}${capNote(d.cap, d.nearCap)}`, d.overThreshold || d.nearCap),
		`<td>${newest}</td>`,
		cell(escapeHtml(formatDuration(d.oldestAgeMs))),
		`<td>${replay}</td>`,
		'</tr>',
	].join('');
}

/** Dead-letter streams that belong to no queue row: each template's own DLQ and the intake's rejected stream. */
function deadLetterSection(rows: DeadLetterHealth[] | undefined, actions: boolean): string {
	if (!rows?.length) return '';
	return [
		'<h2>Dead letters</h2>',
		'<table><tr><th>Stream</th><th>Status</th><th>Entries</th><th>Newest entry</th><th>Oldest entry age</th><th>Actions</th></tr>',
		rows.map((d) => deadLetterRow(d, actions)).join(''),
		'</table>',
		'<p class="muted">Leads and messages that failed for good, outside the queues above. Red: past the dead-letter threshold or from 80 % of the stream\'s cap (at the cap new ones are refused).</p>',
	].join('');
}

function card(label: string, value: string, red = false): string {
	return `<div class="card${red ? ' red' : ''}"><div class="value">${escapeHtml(value)}</div><div class="label">${escapeHtml(label)}</div></div>`;
}

function byLabelTable(caption: string, head: string, rows: Record<string, number> | undefined, share?: Record<string, number>): string {
	const entries = Object.entries(rows ?? {}).sort((a, b) => b[1] - a[1]);
	const body = entries.length
		? entries.map(([label, n]) => `<tr><td>${escapeHtml(label)}</td>${cell(escapeHtml(formatCount(n)))}${share ? cell(escapeHtml(formatRate(share[label]))) : ''}</tr>`).join('')
		: `<tr><td colspan="${share ? 3 : 2}" class="muted">nothing yet</td></tr>`;
	return `<table><caption class="muted">${escapeHtml(caption)}</caption><tr><th>${escapeHtml(head)}</th><th>Leads</th>${share ? '<th>Share</th>' : ''}</tr>${body}</table>`;
}

function rateRows(today: LeadRates, range: LeadRates, days: number): string {
	const rows: Array<[string, keyof Omit<LeadRates, 'processDistribution'>, string]> = [
		['Duplicate rate', 'duplicateRate', 'duplicates ÷ leads checked'],
		['Qualification rate', 'qualificationRate', 'qualified ÷ routed'],
		['CRM conversion', 'crmConversion', 'synced to the CRM ÷ new leads'],
		['CRM success rate', 'crmSuccessRate', 'synced ÷ (synced + failed)'],
		['WhatsApp success rate', 'whatsappSuccessRate', 'sent ÷ (sent + failed)'],
		['WhatsApp delivery rate', 'whatsappDeliveryRate', 'delivered ÷ sent'],
		['Webhook success rate', 'webhookSuccessRate', 'delivered ÷ (delivered + failed)'],
		['Retry rate', 'retryRate', 'retries ÷ leads received'],
	];
	return `<table><tr><th>Rate</th><th>Today</th><th>Last ${days} days</th><th>How it is counted</th></tr>${rows
		.map(([label, key, how]) => `<tr><td>${escapeHtml(label)}</td>${cell(escapeHtml(formatRate(today[key])))}${cell(escapeHtml(formatRate(range[key])))}<td class="muted">${escapeHtml(how)}</td></tr>`)
		.join('')}</table>`;
}

const SERIES: Array<{ title: string; color: string; value: (d: DayMetrics) => number }> = [
	{ title: 'Leads received', color: '#2563eb', value: (d) => d.totals.received },
	{ title: 'New leads', color: '#16a34a', value: (d) => d.totals.new },
	{ title: 'Duplicates', color: '#9333ea', value: (d) => d.totals.duplicate },
	{ title: 'Rejected', color: '#b45309', value: (d) => d.totals.rejected },
	{ title: 'Qualified', color: '#0d9488', value: (d) => d.totals.qualified },
	{ title: 'CRM synced', color: '#16a34a', value: (d) => d.breakdown.crm?.synced ?? 0 },
	{ title: 'CRM failed', color: '#dc2626', value: (d) => d.breakdown.crm?.failed ?? 0 },
	{ title: 'WhatsApp sent', color: '#16a34a', value: (d) => d.breakdown.whatsapp?.sent ?? 0 },
	{ title: 'WhatsApp failed', color: '#dc2626', value: (d) => d.breakdown.whatsapp?.failed ?? 0 },
	{ title: 'Webhooks delivered', color: '#16a34a', value: (d) => d.breakdown.webhook?.delivered ?? 0 },
	{ title: 'Webhooks failed', color: '#dc2626', value: (d) => d.breakdown.webhook?.failed ?? 0 },
	{ title: 'Retries', color: '#b45309', value: (d) => d.totals.retries },
	{ title: 'Dead-lettered', color: '#dc2626', value: (d) => d.totals.deadLettered },
];

const zeroDay = (date: string): DayMetrics => ({ date, totals: {} as Record<CounterName, number>, breakdown: {} });

/** The dashboard page: queues first (what needs a person now), then today's leads, then 14-day charts. */
export function renderDashboard(view: DashboardView): string {
	const title = view.title || 'Lead pipeline';
	const actions = view.actions !== false;
	const { health, metrics } = view;
	const today = metrics.days[metrics.days.length - 1] ?? zeroDay(metrics.to);
	const todayRates = ratesOf({ ...zeroTotals(), ...today.totals }, today.breakdown);
	const redQueues = health.queues.filter((q) => q.state === 'red').length;
	const redDeadLetters = (health.deadLetters ?? []).filter((d) => d.state === 'red').length;
	// A paused queue is not "healthy" to a person looking for why leads are not moving.
	const pausedQueues = health.queues.filter((q) => q.paused).length;
	const badges = [
		redQueues ? `<span class="badge red">${redQueues} queue${redQueues === 1 ? '' : 's'} need${redQueues === 1 ? 's' : ''} attention</span>` : '',
		redDeadLetters ? `<span class="badge red">${redDeadLetters} dead-letter stream${redDeadLetters === 1 ? '' : 's'} need${redDeadLetters === 1 ? 's' : ''} attention</span>` : '',
		pausedQueues ? `<span class="badge paused">${pausedQueues} queue${pausedQueues === 1 ? '' : 's'} paused</span>` : '',
	].filter(Boolean);
	const header = [
		`<h1>${escapeHtml(title)} ${badges.join(' ') || '<span class="badge ok">All queues healthy</span>'}</h1>`,
		`<div class="muted">Updated ${escapeHtml(utcTime(view.now))} · days in ${escapeHtml(metrics.timeZone)} · namespace ${escapeHtml(metrics.namespace)}${view.refreshSeconds === 0 ? '' : ` · refreshes every ${escapeHtml(view.refreshSeconds ?? 10)} s`}</div>`,
		view.notice ? `<div class="notice">${escapeHtml(view.notice)}</div>` : '',
	].join('');
	const queues = [
		'<h2>Queues</h2>',
		'<table><tr><th>Queue</th><th>Status</th><th>Waiting</th><th>In flight</th><th>Oldest pending</th><th>Added last minute</th><th>Dead letters</th><th>Consumers</th><th>Actions</th></tr>',
		health.queues.map((q) => queueRow(q, actions)).join('') || '<tr><td colspan="9" class="muted">no queues configured</td></tr>',
		'</table>',
		'<p class="muted">Waiting: not yet handed to a consumer. In flight: handed out, not yet finished. Red: past the alert threshold.</p>',
	].join('');
	const todaySection = [
		`<h2>Today (${escapeHtml(today.date)})</h2>`,
		'<div class="cards">',
		card('Leads received', formatCount(today.totals.received ?? 0)),
		card('New leads', formatCount(today.totals.new ?? 0)),
		card('Duplicate rate', formatRate(todayRates.duplicateRate)),
		card('CRM success rate', formatRate(todayRates.crmSuccessRate), (today.breakdown.crm?.failed ?? 0) > 0),
		card('WhatsApp success rate', formatRate(todayRates.whatsappSuccessRate), (today.breakdown.whatsapp?.failed ?? 0) > 0),
		card('Dead-lettered', formatCount(today.totals.deadLettered ?? 0), (today.totals.deadLettered ?? 0) > 0),
		'</div>',
		'<div class="cards tables" style="margin-top:10px">',
		byLabelTable('Leads per source today', 'Source', today.breakdown.received),
		byLabelTable('Process distribution today', 'Process', today.breakdown.routed, todayRates.processDistribution),
		byLabelTable(`Process distribution, last ${metrics.days.length} days`, 'Process', metrics.breakdown.routed, metrics.rates.processDistribution),
		'</div>',
		`<h2>Rates</h2>${rateRows(todayRates, metrics.rates, metrics.days.length)}`,
	].join('');
	const charts = [
		`<h2>Last ${metrics.days.length} days</h2><div class="charts">`,
		SERIES.map((s) => barChart(s.title, metrics.days.map((d) => ({ date: d.date, value: s.value(d) ?? 0 })), s.color)).join(''),
		'</div>',
	].join('');
	return page(title, header + queues + deadLetterSection(health.deadLetters, actions) + todaySection + charts, { seconds: view.refreshSeconds ?? 10 });
}

function zeroTotals(): Record<CounterName, number> {
	return { received: 0, rejected: 0, duplicate: 0, new: 0, routed: 0, stage: 0, qualified: 0, crm: 0, whatsapp: 0, webhook: 0, retries: 0, deadLettered: 0 };
}

export type DashboardAction = 'pause' | 'resume' | 'replay';

const ACTION_TEXT: Record<DashboardAction, { verb: string; explain: string }> = {
	pause: { verb: 'Pause', explain: 'Consumers stop taking new leads from this queue within one block interval and finish what they hold. Leads keep arriving and wait in the queue.' },
	resume: { verb: 'Resume', explain: 'Consumers start taking leads from this queue again, oldest first.' },
	replay: { verb: 'Replay dead letters of', explain: 'Dead letters go back to the queue they came from to be processed again (up to the replay limit). Fix what made them fail first, or they come back.' },
};

/** The confirmation step: the same form again with a one-time token, and a way back. */
export function renderConfirmPage(o: { title?: string; action: DashboardAction; stream: string; group: string; token: string; backUrl?: string; notice?: string; dlq?: string }): string {
	const text = ACTION_TEXT[o.action];
	const question = o.dlq ? `${text.verb} ${o.dlq}?` : `${text.verb} ${o.stream} (group ${o.group})?`;
	const fields: Record<string, string> = o.dlq ? { action: o.action, dlq: o.dlq, confirm: o.token } : { action: o.action, stream: o.stream, group: o.group, confirm: o.token };
	const body = [
		`<h1>${escapeHtml(question)}</h1>`,
		o.notice ? `<div class="notice">${escapeHtml(o.notice)}</div>` : '',
		`<p>${escapeHtml(text.explain)}</p>`,
		postForm(fields, `Yes, ${text.verb.toLowerCase()}`, 'danger'),
		` <a href="${escapeHtml(o.backUrl ?? '')}">Cancel</a>`,
	].join('');
	return page(`Confirm: ${question}`, body);
}

/** After an action (or a refused one): what happened, then back to the dashboard by itself. */
export function renderResultPage(o: { title?: string; heading: string; lines?: string[]; ok: boolean; backUrl?: string }): string {
	const body = [
		`<h1><span class="badge ${o.ok ? 'ok' : 'red'}">${o.ok ? 'Done' : 'Not done'}</span> ${escapeHtml(o.heading)}</h1>`,
		(o.lines ?? []).map((line) => `<p>${escapeHtml(line)}</p>`).join(''),
		`<p><a href="${escapeHtml(o.backUrl ?? '')}">Back to the dashboard</a></p>`,
	].join('');
	return page(o.heading, body, o.backUrl ? { seconds: 5, url: o.backUrl } : undefined);
}
