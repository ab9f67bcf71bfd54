import type Redis from 'ioredis';
import type { IDataObject, INodeProperties } from 'n8n-workflow';

import { type DecisionEvent, DEFAULT_RETENTION_DAYS, recordDecisions, type RecorderOptions } from '../shared/metrics';
import { effectiveTimeZone, pipelineSettingsFrom } from '../shared/lead';

/**
 * The n8n face of the decision counters (nodes/shared/metrics): the two options every counting
 * node shows in its Options collection, and the one call a node makes per batch after its main
 * write. Counting never fails the lead: a refused write is a warning in the n8n log.
 */

export const RECORD_METRICS = 'recordMetrics';
export const METRICS_RETENTION_DAYS = 'metricsRetentionDays';

export const metricsOptions: INodeProperties[] = [
	{
		displayName: 'Record Metrics',
		name: RECORD_METRICS,
		type: 'boolean',
		default: true,
		description:
			"Whether to count this node's decisions per day in Redis (namespace and time zone from the Pipeline Settings) for the Lead Pipeline Metrics node and the dashboard. Editor test runs never count.",
	},
	{
		displayName: 'Metrics Retention (Days)',
		name: METRICS_RETENTION_DAYS,
		type: 'number',
		typeOptions: { minValue: 1, maxValue: 3650 },
		default: DEFAULT_RETENTION_DAYS,
		description: 'How many days the daily counts are kept',
	},
];

/**
 * A node's Options collection with the metrics options in it, sorted by name as n8n lists a
 * collection's options.
 */
export function withMetricsOptions(options: INodeProperties[]): INodeProperties[] {
	return [...options, ...metricsOptions].sort((a, b) => a.displayName.localeCompare(b.displayName));
}

/** Where and how long a node counts; undefined = it does not count this run. */
export type MetricsScope = Required<Pick<RecorderOptions, 'namespace' | 'timeZone' | 'retentionDays'>>;

/** Whether this run counts at all (so a node knows to open Redis for it). */
export function metricsWanted(mode: string, options: IDataObject | undefined): boolean {
	return mode !== 'manual' && options?.[RECORD_METRICS] !== false;
}

/**
 * The scope from the node's options and its Pipeline Settings. Editor test runs (mode "manual")
 * and nodes with Record Metrics off get undefined.
 */
export function metricsScope(
	mode: string,
	options: IDataObject | undefined,
	settings: { namespace: string; timeZone: string },
): MetricsScope | undefined {
	if (!metricsWanted(mode, options)) return undefined;
	const days = Number(options?.[METRICS_RETENTION_DAYS] ?? DEFAULT_RETENTION_DAYS);
	return {
		namespace: settings.namespace,
		timeZone: settings.timeZone,
		retentionDays: Number.isFinite(days) && days >= 1 ? Math.floor(days) : DEFAULT_RETENTION_DAYS,
	};
}

/**
 * The Pipeline Settings' namespace and time zone from the Lead Pipeline Redis credential's fields,
 * for nodes that do not otherwise read them (triggers, Webhook Deliver). A setting that does not
 * parse falls back to the defaults: counting must not stop a trigger.
 */
export function settingsForMetrics(credential: Record<string, unknown> | undefined, n8nTimeZone: string): { namespace: string; timeZone: string } {
	try {
		const settings = pipelineSettingsFrom(credential);
		return { namespace: settings.namespace, timeZone: effectiveTimeZone(settings, n8nTimeZone) };
	} catch {
		return { namespace: pipelineSettingsFrom({}).namespace, timeZone: n8nTimeZone || 'UTC' };
	}
}

export interface MetricsLogger {
	warn(message: string): void;
}

/** One recordDecisions call for the batch; failures and wiring mistakes become warnings. */
export async function recordMetrics(
	logger: MetricsLogger,
	redis: Redis | undefined,
	scope: MetricsScope | undefined,
	events: DecisionEvent[],
): Promise<void> {
	if (!redis || !scope || events.length === 0) return;
	const result = await recordDecisions(redis, scope, events);
	if (!result.ok) logger.warn(`Lead metrics not recorded: ${result.error}`);
	if (result.warning) logger.warn(`Lead metrics: ${result.warning}`);
	if (result.invalid.length) {
		logger.warn(`Lead metrics: ${result.invalid.length} event(s) skipped, e.g. ${result.invalid[0].reason}`);
	}
}
