import type { CounterName } from '../../nodes/shared/metrics/counters';
import { renderConfirmPage, renderDashboard, renderResultPage } from '../../nodes/shared/metrics/dashboardPage';
import { escapeHtml, formatDuration } from '../../nodes/shared/metrics/html';
import type { DeadLetterHealth } from '../../nodes/shared/metrics/deadLetters';
import type { HealthReport, QueueHealth } from '../../nodes/shared/metrics/queueHealth';
import { ratesOf, type DayMetrics, type LeadMetrics } from '../../nodes/shared/metrics/reader';

const totals = (t: Partial<Record<CounterName, number>> = {}): Record<CounterName, number> => ({
	received: 0, rejected: 0, duplicate: 0, new: 0, routed: 0, stage: 0, qualified: 0, crm: 0, whatsapp: 0, webhook: 0, retries: 0, deadLettered: 0, ...t,
});

function queue(overrides: Partial<QueueHealth> = {}): QueueHealth {
	return {
		stream: 'filterQueue', group: 'newOpportunityProcessor', exists: true, groupExists: true, length: 10, pending: 2, lag: 8, queueLength: 10,
		consumers: 1, lastDeliveredId: '1-0', lastGeneratedId: '2-0', dlqStream: 'DLQFilterQueueNewOpportunityProcessor', dlqSize: 0, dlqCap: 0, dlqNearCap: false,
		alerts: { backlog: false, dlq: false, pending: false, dlqNearCap: false, oldestPending: false }, alerting: false, paused: false, inFlight: 2,
		consumerDetails: [{ name: 'host-1', pending: 2, idleMs: 1500 }], oldestPending: { id: '1-0', ageMs: 252_000, idleMs: 1000, deliveries: 1, consumer: 'host-1' },
		throughput: { windowMs: 60_000, added: 37, capped: false, cap: 10_000 }, dlqOldestAgeMs: null, state: 'ok', ...overrides,
	};
}

function metricsOf(days: DayMetrics[]): LeadMetrics {
	const sum = totals();
	for (const d of days) for (const k of Object.keys(sum) as CounterName[]) sum[k] += d.totals[k];
	const breakdown = { received: { WEBSITE: 1234 }, routed: { PSV: 3, NO_FILTER: 1 }, crm: { synced: 2, failed: 1 } };
	return { namespace: 'leads', timeZone: 'Asia/Kolkata', from: days[0].date, to: days[days.length - 1].date, totals: sum, breakdown, rates: ratesOf(sum, breakdown), days };
}

const days: DayMetrics[] = Array.from({ length: 14 }, (_, i) => ({
	date: `2025-03-${String(i + 1).padStart(2, '0')}`,
	totals: totals({ received: i, new: i }),
	breakdown: {},
}));
days[13] = {
	date: '2025-03-14',
	totals: totals({ received: 1234, new: 900, duplicate: 100, routed: 4, qualified: 2, crm: 3 }),
	breakdown: { received: { WEBSITE: 1000, WHATSAPP: 234 }, routed: { PSV: 3, NO_FILTER: 1 }, crm: { synced: 2, failed: 1 } },
};
const now = new Date('2025-03-14T09:30:00Z');

function health(queues: QueueHealth[]): HealthReport {
	return { at: now.toISOString(), queues, alerting: queues.some((q) => q.state === 'red') };
}

describe('dashboard page', () => {
	test('shows queue depth, in flight, oldest pending, leads per source today, rates and numbers a person can read', () => {
		const html = renderDashboard({ health: health([queue()]), metrics: metricsOf(days), now });
		expect(html).toMatch(/^<!DOCTYPE html>/);
		expect(html).toContain('<meta http-equiv="refresh" content="10">');
		expect(html).toContain('All queues healthy');
		// Waiting 8, in flight 2, oldest pending 4 min 12 s, 37 added in the last minute.
		expect(html).toMatch(/<td class="num">8<\/td><td class="num">2<\/td><td class="num">4 min 12 s<\/td><td class="num">37<\/td>/);
		expect(html).toContain('host-1: 2 in flight');
		expect(html).toMatch(/<td>WEBSITE<\/td><td class="num">1,000<\/td>/);
		expect(html).toMatch(/<td>WHATSAPP<\/td><td class="num">234<\/td>/);
		expect(html).toContain('1,234'); // leads received today
		expect(html).toContain('10.0%'); // duplicate rate today: 100 / (900 + 100)
		expect(html).toMatch(/<td>PSV<\/td><td class="num">3<\/td><td class="num">75.0%<\/td>/);
		expect(html).toContain('66.7%'); // CRM success: 2 / 3
		expect(html).toContain('Today (2025-03-14)');
	});

	test('a 14-day inline SVG chart per series, nothing loaded from elsewhere', () => {
		const html = renderDashboard({ health: health([queue()]), metrics: metricsOf(days), now });
		const charts = html.match(/<svg [^>]*role="img"/g) ?? [];
		expect(charts.length).toBe(13);
		const firstChart = html.slice(html.indexOf('<figure'), html.indexOf('</figure>'));
		expect(firstChart).toContain('Leads received');
		expect(firstChart.match(/<rect /g)?.length).toBe(14);
		expect(firstChart).toContain('<title>2025-03-14: 1,234</title>');
		expect(html).not.toMatch(/<script|<link|src=|url\(|href="https?:/i);
		expect(html).not.toMatch(/https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
	});

	test('red state past thresholds: the DLQ, the backlog and the oldest pending cells, and the headline', () => {
		const red = queue({ dlqSize: 75, alerts: { backlog: true, dlq: true, pending: false, dlqNearCap: false, oldestPending: true }, alerting: true, state: 'red' });
		const html = renderDashboard({ health: health([red, queue({ stream: 'syncQueue', group: 'crm' })]), metrics: metricsOf(days), now });
		expect(html).toContain('1 queue needs attention');
		expect(html).toMatch(/<td class="num red">75<br><span class="muted">DLQFilterQueueNewOpportunityProcessor<\/span><\/td>/);
		expect(html).toMatch(/<td class="num red">8<\/td>/);
		expect(html).toMatch(/<td class="num red">4 min 12 s<\/td>/);
		expect(html).toContain('Needs attention');
		const quiet = renderDashboard({ health: health([queue()]), metrics: metricsOf(days), now });
		expect(quiet).not.toMatch(/class="num red"/);
	});

	test('buttons POST back with the queue named: Pause when running, Resume when paused, Replay only with dead letters', () => {
		const running = renderDashboard({ health: health([queue()]), metrics: metricsOf(days), now });
		expect(running).toContain('<form method="post" class="inline"><input type="hidden" name="action" value="pause"><input type="hidden" name="stream" value="filterQueue"><input type="hidden" name="group" value="newOpportunityProcessor">');
		expect(running).not.toContain('value="replay"');
		const paused = renderDashboard({ health: health([queue({ paused: true, pausedBy: 'dashboard', dlqSize: 3 })]), metrics: metricsOf(days), now });
		expect(paused).toContain('value="resume"');
		expect(paused).toContain('value="replay"');
		expect(paused).toContain('Paused');
		expect(paused).toContain('by dashboard');
		const readOnly = renderDashboard({ health: health([queue({ dlqSize: 3 })]), metrics: metricsOf(days), now, actions: false });
		expect(readOnly).not.toContain('<form');
	});

	test('a paused queue is said in the headline, with when in the same words as "Updated" (not a raw ISO time)', () => {
		const paused = queue({ paused: true, pausedBy: 'dashboard', pausedAt: '2025-03-14T09:25:07.212Z' });
		const html = renderDashboard({ health: health([paused, queue({ stream: 'syncQueue', group: 'crm' })]), metrics: metricsOf(days), now });
		expect(html).toContain('by dashboard at 2025-03-14 09:25:07 UTC');
		expect(html).not.toContain('09:25:07.212Z');
		expect(html).toContain('<span class="badge paused">1 queue paused</span>');
		expect(html).not.toContain('All queues healthy');
		const redAndPaused = renderDashboard({ health: health([paused, queue({ stream: 'syncQueue', state: 'red', alerting: true })]), metrics: metricsOf(days), now });
		expect(redAndPaused).toContain('1 queue needs attention');
		expect(redAndPaused).toContain('1 queue paused');
	});

	test('everything from Redis or the request is HTML-escaped', () => {
		const evil = '<script>alert(1)</script>';
		const attr = '"><img src=x onerror=alert(1)>';
		const evilDays = days.map((d) => ({ ...d, breakdown: { ...d.breakdown, received: { [evil]: 5 } } }));
		const html = renderDashboard({
			health: health([queue({ stream: evil, group: attr, pausedBy: evil, paused: true, consumerDetails: [{ name: attr, pending: 1, idleMs: 0 }], error: undefined })]),
			metrics: metricsOf(evilDays),
			now,
			title: evil,
			notice: attr,
		});
		expect(html).not.toContain('<script>');
		expect(html).not.toContain('<img');
		expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
		expect(html).toContain('value="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;"');
		const confirm = renderConfirmPage({ action: 'pause', stream: evil, group: attr, token: attr, backUrl: attr });
		expect(confirm).not.toMatch(/<script>|<img/);
		const result = renderResultPage({ heading: evil, lines: [attr], ok: false, backUrl: '/webhook/x"><script>' });
		expect(result).not.toMatch(/<script>|<img/);
		expect(escapeHtml(`&<>"'`)).toBe('&amp;&lt;&gt;&quot;&#39;');
	});

	test('the confirmation page repeats the action with its one-time token; the result page goes back by itself', () => {
		const confirm = renderConfirmPage({ action: 'replay', stream: 'filterQueue', group: 'g', token: 'abc123', backUrl: '/webhook/lead-pipeline/dashboard' });
		expect(confirm).toContain('Replay dead letters of filterQueue (group g)?');
		expect(confirm).toContain('<input type="hidden" name="confirm" value="abc123">');
		expect(confirm).toContain('<a href="/webhook/lead-pipeline/dashboard">Cancel</a>');
		expect(confirm).not.toContain('http-equiv="refresh"');
		const result = renderResultPage({ heading: 'Paused filterQueue', ok: true, backUrl: '/webhook/lead-pipeline/dashboard' });
		expect(result).toContain('<meta http-equiv="refresh" content="5;url=/webhook/lead-pipeline/dashboard">');
	});

	test('dead-letter streams of their own: a section only when configured, cap warning, Replay by DLQ name, escaped', () => {
		const dl = (o: Partial<DeadLetterHealth>): DeadLetterHealth => ({
			stream: 'DLQLeadIntake', exists: true, length: 80, cap: 100, nearCap: true, overThreshold: false, newestAt: '2025-03-14T09:29:00.000Z',
			newestAgeMs: 60_000, oldestAgeMs: 3_600_000, replayable: true, state: 'red', ...o,
		});
		expect(renderDashboard({ health: health([queue()]), metrics: metricsOf(days), now })).not.toContain('Dead letters</h2>');
		const html = renderDashboard({
			health: { ...health([queue()]), deadLetters: [dl({}), dl({ stream: 'DLQCrmSync', length: 2, cap: 0, nearCap: false, replayable: false, state: 'ok' }), dl({ stream: '<b>x</b>', length: 0, newestAt: null, state: 'ok', nearCap: false })] },
			metrics: metricsOf(days),
			now,
		});
		expect(html).toContain('<h2>Dead letters</h2>');
		expect(html).toContain('1 dead-letter stream needs attention');
		expect(html).toMatch(/<td class="num red">80<br><span class="muted">cap 100<\/span><br><strong>Near its cap/);
		expect(html).toContain('2025-03-14 09:29:00 UTC<br><span class="muted">1 min 0 s ago</span>');
		expect(html).toContain('<input type="hidden" name="action" value="replay"><input type="hidden" name="dlq" value="DLQLeadIntake">');
		expect(html).not.toContain('name="dlq" value="DLQCrmSync"');
		expect(html).toContain('&lt;b&gt;x&lt;/b&gt;');
		const confirm = renderConfirmPage({ action: 'replay', stream: 'DLQCrmSync', group: '', dlq: 'DLQCrmSync', token: 't0k' });
		expect(confirm).toContain('Replay dead letters of DLQCrmSync?');
		expect(confirm).toContain('<input type="hidden" name="dlq" value="DLQCrmSync"><input type="hidden" name="confirm" value="t0k">');
	});

	test('durations read as a person says them', () => {
		expect([formatDuration(null), formatDuration(999), formatDuration(42_000), formatDuration(3_725_000), formatDuration(90_000_000)]).toEqual(['—', '0 s', '42 s', '1 h 2 min', '1 d 1 h']);
	});
});
