import type Redis from 'ioredis';
import { type IDataObject, type IExecuteFunctions, NodeOperationError } from 'n8n-workflow';

import { addDays, dateIn, isDate, isValidTimeZone, type DeadLetterRef, handleDashboardRequest, type DashboardRequest, queueHealth, type HealthThresholds, type QueueRef, readLeadMetrics } from '../shared/metrics';
import { pauseStates, setPaused, listDeadLetters, replayDeadLetters } from '../shared/queue';

/** What one input item produces. */
export type Operation = (this: IExecuteFunctions, redis: Redis, itemIndex: number) => Promise<IDataObject>;

interface Options {
	applyInTestRuns?: boolean;
	allowActions?: boolean;
	chartDays?: number;
	replayLimit?: number;
	title?: string;
}

function options(ctx: IExecuteFunctions, itemIndex: number): Options {
	return ctx.getNodeParameter('options', itemIndex, {}) as Options;
}

/** Editor test runs change no production state unless the user turned "Apply in Test Runs" on. */
function applies(ctx: IExecuteFunctions, itemIndex: number): boolean {
	return ctx.getMode() !== 'manual' || options(ctx, itemIndex).applyInTestRuns === true;
}

function text(ctx: IExecuteFunctions, name: string, label: string, itemIndex: number): string {
	const value = String(ctx.getNodeParameter(name, itemIndex, '') ?? '').trim();
	if (!value) throw new NodeOperationError(ctx.getNode(), `${label} is empty`, { itemIndex, description: `Fill in "${label}".` });
	return value;
}

function queuesOf(ctx: IExecuteFunctions, itemIndex: number): QueueRef[] {
	const rows = (ctx.getNodeParameter('queues.queue', itemIndex, []) as Array<{ stream?: string; group?: string; dlqStream?: string; dlqCap?: number }>) ?? [];
	const queues = rows.map((row, i) => {
		const stream = String(row.stream ?? '').trim();
		const group = String(row.group ?? '').trim();
		if (!stream || !group) {
			throw new NodeOperationError(ctx.getNode(), `Queue ${i + 1} has no ${stream ? 'consumer group' : 'stream'}`, {
				itemIndex,
				description: 'Every row of "Queues" needs a stream and the consumer group that reads it.',
			});
		}
		return { stream, group, dlqStream: String(row.dlqStream ?? '').trim() || undefined, dlqCap: Number(row.dlqCap ?? 0) || 0 };
	});
	if (queues.length === 0) throw new NodeOperationError(ctx.getNode(), 'No queues to report on', { itemIndex, description: 'Add at least one row to "Queues".' });
	return queues;
}

/** Rows without a stream are skipped: an empty row left in the editor shows nothing rather than failing the page. */
function deadLettersOf(ctx: IExecuteFunctions, itemIndex: number): DeadLetterRef[] {
	const rows = (ctx.getNodeParameter('deadLetters.deadLetter', itemIndex, []) as Array<{ stream?: string; cap?: number }>) ?? [];
	return rows
		.map((row) => ({ stream: String(row.stream ?? '').trim(), cap: Math.max(0, Number(row.cap ?? 0) || 0) }))
		.filter((row) => row.stream !== '');
}

function zoneOf(ctx: IExecuteFunctions, itemIndex: number): string {
	if (ctx.getNodeParameter('dayBoundary', itemIndex, 'workflow') === 'utc') return 'UTC';
	const zone = ctx.getTimezone();
	return zone && isValidTimeZone(zone) ? zone : 'UTC';
}

export const getQueueHealth: Operation = async function (redis, itemIndex) {
	const thresholds = this.getNodeParameter('thresholds', itemIndex, {}) as Partial<HealthThresholds>;
	// An interface has no index signature, so TypeScript will not take it as IDataObject; it is plain JSON.
	return (await queueHealth(redis, { queues: queuesOf(this, itemIndex), deadLetters: deadLettersOf(this, itemIndex), thresholds })) as unknown as IDataObject;
};

export const getLeadMetrics: Operation = async function (redis, itemIndex) {
	const timeZone = zoneOf(this, itemIndex);
	let from: string;
	let to: string;
	if (this.getNodeParameter('range', itemIndex, 'lastDays') === 'between') {
		from = String(this.getNodeParameter('from', itemIndex, '')).slice(0, 10);
		to = String(this.getNodeParameter('to', itemIndex, '')).slice(0, 10);
		for (const [label, value] of [['From', from], ['To', to]]) {
			if (!isDate(value)) {
				throw new NodeOperationError(this.getNode(), `${label} is not a date`, { itemIndex, description: `Pick a date for "${label}" (got "${value}").` });
			}
		}
	} else {
		to = dateIn(new Date(), timeZone);
		from = addDays(to, -(Math.max(1, Math.floor(this.getNodeParameter('days', itemIndex, 14) as number)) - 1));
	}
	const namespace = String(this.getNodeParameter('namespace', itemIndex, 'leads')).trim() || 'leads';
	try {
		// An interface has no index signature, so TypeScript will not take it as IDataObject; it is plain JSON.
		return (await readLeadMetrics(redis, { namespace, from, to, timeZone })) as unknown as IDataObject;
	} catch (error) {
		const description = error instanceof RangeError ? 'Check "From" and "To".' : undefined;
		throw new NodeOperationError(this.getNode(), error as Error, { itemIndex, description });
	}
};

function pauseOperation(paused: boolean): Operation {
	return async function (this: IExecuteFunctions, redis, itemIndex) {
		const stream = text(this, 'stream', 'Stream', itemIndex);
		const group = text(this, 'group', 'Consumer Group', itemIndex);
		if (!applies(this, itemIndex)) {
			const [current] = await pauseStates(redis, [{ stream, group }]);
			return { applied: false, wouldSetPaused: paused, ...current, note: 'Editor test run: nothing changed. Turn on "Apply in Test Runs" to really do it.' };
		}
		const by = paused ? String(this.getNodeParameter('pausedBy', itemIndex, 'n8n workflow')) : 'n8n workflow';
		return { applied: true, ...(await setPaused(redis, stream, group, paused, by)) };
	};
}

export const pause = pauseOperation(true);
export const resume = pauseOperation(false);

function idList(value: unknown): string[] {
	const parts = Array.isArray(value) ? value.map(String) : String(value ?? '').split(/[\s,]+/);
	return parts.map((id) => id.trim()).filter(Boolean);
}

export const replay: Operation = async function (redis, itemIndex) {
	const dlqStream = text(this, 'dlqStream', 'Dead-Letter Stream', itemIndex);
	const limit = Math.max(1, Math.floor(this.getNodeParameter('limit', itemIndex, 50) as number));
	const ids = idList(this.getNodeParameter('replayIds', itemIndex, ''));
	if (!applies(this, itemIndex)) {
		const letters = await listDeadLetters(redis, dlqStream, { count: ids.length ? 10_000 : limit });
		const would = ids.length ? letters.filter((l) => ids.includes(l.id)) : letters;
		return {
			applied: false,
			dlqStream,
			wouldReplay: would.map((l) => ({ deadLetterId: l.id, queue: l.originalQueue, lastError: l.lastError })),
			note: 'Editor test run: nothing changed. Turn on "Apply in Test Runs" to really do it.',
		};
	}
	const results = await replayDeadLetters(redis, dlqStream, { ids, limit });
	// An interface has no index signature, so TypeScript will not take it as IDataObject; it is plain JSON.
	return { applied: true, dlqStream, replayed: results.filter((r) => r.replayed).length, results: results as unknown as IDataObject[] };
};

function pathOf(webhookUrl: unknown): string {
	try {
		return typeof webhookUrl === 'string' && webhookUrl ? new URL(webhookUrl).pathname : '';
	} catch {
		return '';
	}
}

/** The input item is what n8n's Webhook node emits: { headers, query, body, webhookUrl, … }. */
export const dashboard: Operation = async function (redis, itemIndex) {
	const json = this.getInputData()[itemIndex]?.json ?? {};
	const body = (json.body ?? {}) as DashboardRequest['body'];
	const form = typeof body === 'string' ? Object.fromEntries(new URLSearchParams(body)) : (body as Record<string, unknown>);
	// The Webhook node does not pass the method on: a request that carries an action is the POST.
	const request: DashboardRequest = { method: form?.action ? 'POST' : 'GET', query: (json.query ?? {}) as Record<string, unknown>, body, path: pathOf(json.webhookUrl) };
	const o = options(this, itemIndex);
	const apply = applies(this, itemIndex);
	const response = await handleDashboardRequest(
		redis,
		{
			queues: queuesOf(this, itemIndex),
			deadLetters: deadLettersOf(this, itemIndex),
			thresholds: this.getNodeParameter('thresholds', itemIndex, {}) as Partial<HealthThresholds>,
			namespace: String(this.getNodeParameter('namespace', itemIndex, 'leads')).trim() || 'leads',
			timeZone: zoneOf(this, itemIndex),
			days: o.chartDays ?? 14,
			title: o.title,
			replayLimit: o.replayLimit ?? 100,
			actions: o.allowActions !== false,
		},
		request,
		{ apply, by: 'dashboard', notice: apply ? undefined : 'Editor test run: the buttons walk through their steps but change nothing.' },
	);
	// An interface has no index signature, so TypeScript will not take it as IDataObject; it is plain JSON.
	return response as unknown as IDataObject;
};
