import { randomBytes } from 'node:crypto';

import type Redis from 'ioredis';

import { replayDeadLetters, dlqStreamName, setPaused } from '../queue';
import { addDays, dateIn } from './counters';
import type { DeadLetterRef } from './deadLetters';
import { renderConfirmPage, renderDashboard, renderResultPage, type DashboardAction } from './dashboardPage';
import { queueHealth, type HealthThresholds, type QueueRef } from './queueHealth';
import { readLeadMetrics } from './reader';

export interface DashboardConfig {
	queues: QueueRef[];
	/** Dead-letter streams outside the queues' groups, shown in their own section with Replay. */
	deadLetters?: DeadLetterRef[];
	thresholds?: Partial<HealthThresholds>;
	namespace: string;
	/** Whose calendar "today" and the chart days follow. */
	timeZone: string;
	/** Chart length. Default 14. */
	days?: number;
	title?: string;
	/** Dead letters moved per Replay click. Default 100. */
	replayLimit?: number;
	/** Offer Pause/Resume/Replay at all. Default true. */
	actions?: boolean;
}

/** The parts of a Webhook node's item the dashboard reads. */
export interface DashboardRequest {
	method: string;
	query?: Record<string, unknown>;
	body?: Record<string, unknown> | string;
	/** The page's own path (for Cancel / Back links); empty = the current URL. */
	path?: string;
}

export interface DashboardResponse {
	statusCode: number;
	contentType: string;
	body: string;
	/** What a POST did (or would have done in a test run), for the execution log. */
	action?: { action: DashboardAction; stream: string; group: string; applied: boolean; result?: unknown };
}

/** What a POST acts on: a queue (stream + group), or a dead-letter stream of its own (Replay only). */
interface Target {
	stream: string;
	group: string;
	dlqStream: string;
	/** Set for a dead-letter stream row: its entries go back to each one's originalQueue. */
	dlq?: string;
}

const CONFIRM_TTL_SECONDS = 300;
const HTML = 'text/html; charset=utf-8';
const ACTIONS: DashboardAction[] = ['pause', 'resume', 'replay'];

/** Where a confirmation token lives until used (once) or expired. */
export function confirmKey(namespace: string, token: string): string {
	return `${namespace}:metrics:dashboard:confirm:${token}`;
}

function formOf(body: DashboardRequest['body']): Record<string, string> {
	if (typeof body === 'string') return Object.fromEntries(new URLSearchParams(body));
	return Object.fromEntries(Object.entries(body ?? {}).map(([k, v]) => [k, String(v ?? '')]));
}

async function dashboardData(redis: Redis, config: DashboardConfig, now: Date) {
	const to = dateIn(now, config.timeZone);
	const days = Math.max(1, Math.min(90, config.days ?? 14));
	const [health, metrics] = await Promise.all([
		queueHealth(redis, { queues: config.queues, deadLetters: config.deadLetters, thresholds: config.thresholds }),
		readLeadMetrics(redis, { namespace: config.namespace, timeZone: config.timeZone, from: addDays(to, -(days - 1)), to }),
	]);
	return { health, metrics };
}

/** The queue or dead-letter stream a POST names, if this dashboard shows it. */
function targetOf(config: DashboardConfig, form: Record<string, string>): Target | { refusal: string[] } {
	if (form.dlq !== undefined) {
		if (form.action !== 'replay') return { refusal: ['Unknown action', 'A dead-letter stream can only be replayed.'] };
		const row = (config.deadLetters ?? []).find((d) => d.stream === form.dlq);
		if (!row) return { refusal: ['Unknown dead-letter stream', `${form.dlq} is not one of the dead-letter streams this dashboard shows.`] };
		return { stream: row.stream, group: '', dlqStream: row.stream, dlq: row.stream };
	}
	const queue = config.queues.find((q) => q.stream === form.stream && q.group === form.group);
	if (!queue) return { refusal: ['Unknown queue', `${form.stream ?? ''} / ${form.group ?? ''} is not one of the queues this dashboard shows.`] };
	return { stream: queue.stream, group: queue.group, dlqStream: queue.dlqStream || dlqStreamName(queue.stream, queue.group) };
}

/** The stream and group a target names: what a confirmation token and an action record carry. */
function queueOf(found: Target): { stream: string; group: string } {
	return { stream: found.stream, group: found.group };
}

/** What every step of one request shares: where it came from and how to answer it. */
interface RequestScope {
	redis: Redis;
	config: DashboardConfig;
	title: string;
	/** The dashboard's own path, for the pages' back links. */
	back: string;
	now: Date;
	o: { apply: boolean; by: string; notice?: string };
}

function refusedPage(scope: RequestScope, statusCode: number, heading: string, lines: string[] = []): DashboardResponse {
	return { statusCode, contentType: HTML, body: renderResultPage({ title: scope.title, heading, lines, ok: false, backUrl: scope.back }) };
}

/** GET: the page, or the data with `?format=json`. */
async function showDashboard(scope: RequestScope, request: DashboardRequest): Promise<DashboardResponse> {
	const { redis, config, now, title } = scope;
	const data = await dashboardData(redis, config, now);
	if (String(request.query?.format ?? '').toLowerCase() === 'json') {
		return { statusCode: 200, contentType: 'application/json; charset=utf-8', body: JSON.stringify({ generatedAt: now.toISOString(), ...data }) };
	}
	const body = renderDashboard({ ...data, now, title, actions: config.actions !== false, notice: scope.o.notice });
	return { statusCode: 200, contentType: HTML, body };
}

/** The first POST: a one-time token in Redis, and the page that asks to confirm with it. */
async function askConfirmation(scope: RequestScope, action: DashboardAction, found: Target): Promise<DashboardResponse> {
	const target = queueOf(found);
	const dlq = found.dlq;
	const token = randomBytes(16).toString('hex');
	await scope.redis.set(confirmKey(scope.config.namespace, token), JSON.stringify({ action, ...target }), 'EX', CONFIRM_TTL_SECONDS);
	return { statusCode: 200, contentType: HTML, body: renderConfirmPage({ title: scope.title, action, ...target, dlq, token, backUrl: scope.back, notice: scope.o.notice }) };
}

async function replayAction(scope: RequestScope, found: Target, verb: string): Promise<DashboardResponse> {
	const { dlqStream, dlq, ...target } = found;
	const results = await replayDeadLetters(scope.redis, dlqStream, { limit: scope.config.replayLimit ?? 100 });
	const replayed = results.filter((r) => r.replayed).length;
	const failures = results.filter((r) => !r.replayed);
	// A DLQ of its own may hold letters from several queues: name where they went.
	const went = dlq ? [...new Set(results.flatMap((r) => (r.replayed && r.queue ? [r.queue] : [])))].join(', ') || 'their queues' : target.stream;
	const lines = [`${replayed} dead letter${replayed === 1 ? '' : 's'} went back to ${went}.`, ...failures.slice(0, 10).map((f) => `${f.deadLetterId}: ${f.reason ?? 'not replayed'}`)];
	return {
		statusCode: 200,
		contentType: HTML,
		body: renderResultPage({ title: scope.title, heading: `${verb} ${target.stream}`, lines, ok: failures.length === 0, backUrl: scope.back }),
		action: { action: 'replay', ...target, applied: true, result: { replayed, failed: failures.length } },
	};
}

/** The confirmed POST: the action (or, in a test run, what it would have done). */
async function applyAction(scope: RequestScope, action: DashboardAction, found: Target): Promise<DashboardResponse> {
	const target = queueOf(found);
	const { title, back } = scope;
	const verb = { pause: 'Paused', resume: 'Resumed', replay: 'Replayed dead letters of' }[action];
	if (!scope.o.apply) {
		return {
			statusCode: 200,
			contentType: HTML,
			body: renderResultPage({ title, heading: `Test run: nothing changed (would have ${verb.toLowerCase()} ${target.stream})`, lines: ['Editor test runs do not change queues unless the node option "Apply in Test Runs" is on.'], ok: true, backUrl: back }),
			action: { action, ...target, applied: false },
		};
	}
	if (action === 'replay') return await replayAction(scope, found, verb);
	const state = await setPaused(scope.redis, target.stream, target.group, action === 'pause', scope.o.by, scope.now);
	return {
		statusCode: 200,
		contentType: HTML,
		body: renderResultPage({ title, heading: `${verb} ${target.stream} (group ${target.group})`, lines: [action === 'pause' ? 'Consumers stop taking new leads within one block interval; leads keep arriving and wait.' : 'Consumers take leads again, oldest first.'], ok: true, backUrl: back }),
		action: { action, ...target, applied: true, result: state },
	};
}

/**
 * One dashboard request: GET → the page (or `?format=json` → the data); POST → a confirmation page
 * with a one-time token kept in Redis for 5 minutes; POST with that token → the action, then a result
 * page. The token makes a forged cross-site POST useless: another site cannot read it.
 * `apply: false` (editor test runs) walks the same steps but changes nothing.
 */
export async function handleDashboardRequest(
	redis: Redis,
	config: DashboardConfig,
	request: DashboardRequest,
	o: { apply: boolean; by: string; now?: Date; notice?: string },
): Promise<DashboardResponse> {
	const scope: RequestScope = { redis, config, title: config.title || 'Lead pipeline', back: request.path ?? '', now: o.now ?? new Date(), o };
	if (String(request.method).toUpperCase() !== 'POST') return await showDashboard(scope, request);

	if (config.actions === false) return refusedPage(scope, 403, 'Actions are turned off on this dashboard');
	const form = formOf(request.body);
	const action = form.action as DashboardAction;
	if (!ACTIONS.includes(action)) return refusedPage(scope, 400, 'Unknown action', [`"action" must be one of ${ACTIONS.join(', ')}.`]);
	const found = targetOf(config, form);
	if ('refusal' in found) return refusedPage(scope, 400, found.refusal[0], found.refusal.slice(1));
	if (!form.confirm) return await askConfirmation(scope, action, found);

	const target = queueOf(found);
	const stored = (await redis.call('GETDEL', confirmKey(config.namespace, form.confirm))) as string | null;
	if (stored !== JSON.stringify({ action, ...target })) {
		return refusedPage(scope, 409, 'This confirmation expired or was already used', ['Nothing was changed. Go back to the dashboard and click the button again.']);
	}
	return await applyAction(scope, action, found);
}
