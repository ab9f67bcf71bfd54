import type { IDataObject, IWebhookFunctions } from 'n8n-workflow';

import { DEFAULT_BOT_FIELDS, DEFAULT_FORM_FIELDS, DEFAULT_MAX_ROWS, DEFAULT_REJECTED_STREAM_CAP, type BotFieldMapping, type FormFieldMapping, type IntakeSource } from '../shared/intake';
import { DEFAULT_RAW_POLICY, isCountryCode, type CountryCode, type RawPolicy } from '../shared/lead';
import { DEFAULT_MAX_IN_FLIGHT, DEFAULT_SHED_AT_LAG_MS, type ShedLimits } from './overload';

/** The Lead Trigger's parameters and options as one request reads them. */

export type Source = IntakeSource;

export interface Settings {
	source: Source | 'auto';
	defaultCountry?: CountryCode;
	durable: boolean;
	/** An editor test run (the /webhook-test/ URL): never writes production streams or keys. */
	testRun: boolean;
	stream: string;
	enqueueOnly: boolean;
	authentication: 'none' | 'sharedSecret' | 'hmac';
	formFields: FormFieldMapping;
	botFields: BotFieldMapping;
	honeypotField: string;
	emitEvents: boolean;
	importBatchSize: number;
	importMaxRows: number;
	maxLen: number;
	rejectedStream: string;
	/** Most entries the rejected stream may hold; 0 = no cap. Over it a rejection is answered 503. */
	rejectedStreamCap: number;
	replayWindowSeconds: number;
	successStatus: number;
	raw: RawPolicy;
	requireTimestamp: boolean;
	timestampToleranceSeconds: number;
	/** The node's Options (Record Metrics, Metrics Retention). */
	options: IDataObject;
	shed: ShedLimits;
}

export function settings(ctx: IWebhookFunctions): Settings {
	const options = ctx.getNodeParameter('options', {}) as IDataObject;
	const country = String(ctx.getNodeParameter('defaultCountry', '') ?? '').trim().toUpperCase();
	const testRun = ctx.getMode() === 'manual';
	// A test run writes to "<stream>:test" (or nowhere), so production streams and keys never change.
	const testSuffix = testRun ? ':test' : '';
	const durable = (ctx.getNodeParameter('durableAccept', true) as boolean) && !(testRun && options.testRunsWriteTo === 'nothing');
	return {
		source: ctx.getNodeParameter('source', 'website') as Settings['source'],
		defaultCountry: isCountryCode(country) ? country : undefined,
		durable,
		testRun,
		stream: durable ? String(ctx.getNodeParameter('stream', 'filterQueue')) + testSuffix : '',
		// A test run always shows its items in the editor, even when production only enqueues.
		enqueueOnly: durable && !testRun && (ctx.getNodeParameter('enqueueOnly', false) as boolean),
		authentication: ctx.getNodeParameter('authentication', 'none') as Settings['authentication'],
		formFields: { ...DEFAULT_FORM_FIELDS, ...(ctx.getNodeParameter('formFields', {}) as Partial<FormFieldMapping>) },
		botFields: { ...DEFAULT_BOT_FIELDS, ...(ctx.getNodeParameter('botFields', {}) as Partial<BotFieldMapping>) },
		honeypotField: String(ctx.getNodeParameter('honeypotField', '') ?? '').trim(),
		emitEvents: ctx.getNodeParameter('emitEvents', false) as boolean,
		importBatchSize: Number(options.importBatchSize ?? 50),
		importMaxRows: Number(options.importMaxRows ?? DEFAULT_MAX_ROWS),
		maxLen: Number(options.maxLen ?? 0),
		rejectedStream: String(options.rejectedStream ?? 'DLQLeadIntake') + testSuffix,
		rejectedStreamCap: Math.max(0, Number(options.rejectedStreamCap ?? DEFAULT_REJECTED_STREAM_CAP) || 0),
		replayWindowSeconds: Number(options.replayWindowSeconds ?? 86400),
		successStatus: Number(options.successStatus ?? 202),
		requireTimestamp: options.requireTimestamp === true,
		timestampToleranceSeconds: Number(options.timestampToleranceSeconds ?? 300),
		options,
		shed: {
			maxInFlight: Math.max(0, Number(options.maxRequestsInFlight ?? DEFAULT_MAX_IN_FLIGHT) || 0),
			shedAtLagMs: Math.max(0, Number(options.shedAtEventLoopDelayMs ?? DEFAULT_SHED_AT_LAG_MS) || 0),
		},
		raw: {
			include: (options.includeRaw ?? DEFAULT_RAW_POLICY.include) as boolean,
			maxBytes: Number(options.rawMaxBytes ?? DEFAULT_RAW_POLICY.maxBytes),
			maxDepth: Number(options.rawMaxDepth ?? DEFAULT_RAW_POLICY.maxDepth),
		},
	};
}
