import { type IDataObject, type IExecuteFunctions, type INodeExecutionData, NodeApiError, NodeOperationError } from 'n8n-workflow';

import {
	BusinessRulesError,
	ChannelAuthError,
	isChannelName,
	MessageInputError,
	previewSend,
	UnknownChannelError,
	whatsAppClock,
	WhatsAppSender,
	type ChannelName,
	type OutreachRules,
	type SendSettings,
} from '../../shared/whatsapp';
import { metricsScope, recordMetrics } from '../../common/metricsOptions';
import { COUNTER, type DecisionEvent } from '../../shared/metrics';
import { cloudApiConfig, openWhatsAppStore, qrSessionConfig } from '../context';
import { fallbackTemplateOf, itemOf, rulesOf, type SendOptions } from './sendInput';

const HOUR_MS = 3_600_000;

/** Longest retry wait slept inside an execution (the same bound as Webhook Deliver's). */
const MAX_INLINE_WAIT_SECONDS = 30;

/** The Channel parameter's one value that is no channel of its own: the Cloud API, QR when it fails. */
const CLOUD_API_WITH_QR_FALLBACK = 'cloudApiWithQrFallback';

interface ChannelRoute {
	channel: ChannelName;
	fallbackToQr: boolean;
}

/** Sent, Not Sent / Unknown, Deferred: the three outputs, and the decisions counted for metrics. */
interface SendRun {
	out: INodeExecutionData[][];
	events: DecisionEvent[];
}

const OUTPUT_INDEX = { sent: 0, notSent: 1, deferred: 2 } as const;

/** The channel the Channel parameter names (from the registry); an unknown one stops the node. */
function channelRouteOf(ctx: IExecuteFunctions): ChannelRoute {
	const parameter = ctx.getNodeParameter('channel', 0) as string;
	if (parameter === CLOUD_API_WITH_QR_FALLBACK) return { channel: 'cloudApi', fallbackToQr: true };
	if (isChannelName(parameter)) return { channel: parameter, fallbackToQr: false };
	const unknown = new UnknownChannelError(parameter);
	throw new NodeOperationError(ctx.getNode(), unknown.message, { description: 'Choose a Channel on the node: Cloud API, QR Session, or Cloud API with the QR fallback.' });
}

// A longer sleep keeps the batch's execution alive past what a consumer's claim and Max
// Execution Time are set for; longer waits leave through Deferred (the outreach queue holds them).
function maxInlineWaitMsOf(ctx: IExecuteFunctions, options: SendOptions): number {
	const seconds = options.maxInlineWaitSeconds ?? 30;
	if (seconds > MAX_INLINE_WAIT_SECONDS) {
		throw new NodeOperationError(ctx.getNode(), `Longest Wait in Run (Seconds) is ${seconds}: at most ${MAX_INLINE_WAIT_SECONDS} s`, {
			description: `A wait longer than ${MAX_INLINE_WAIT_SECONDS} s would hold the whole batch inside the execution, past the consumer's claim. Set ${MAX_INLINE_WAIT_SECONDS} or less: longer waits go to the Deferred output with sendAfter, and the outreach queue sends them when due.`,
		});
	}
	return seconds * 1000;
}

function businessRulesOf(ctx: IExecuteFunctions, timeZone: string): OutreachRules | undefined {
	try {
		return rulesOf(ctx, timeZone);
	} catch (error) {
		if (error instanceof BusinessRulesError) {
			throw new NodeOperationError(ctx.getNode(), error.message, { description: `Fix "${error.field}" under Business Rules.` });
		}
		throw new NodeOperationError(ctx.getNode(), error as Error);
	}
}

interface RunFacts {
	testRun: boolean;
	clock: SendSettings['policy']['clock'];
	maxInlineWaitMs: number;
	timeZone: string;
}

async function sendSettingsOf(ctx: IExecuteFunctions, options: SendOptions, route: ChannelRoute, run: RunFacts): Promise<SendSettings> {
	const rules = businessRulesOf(ctx, run.timeZone);
	const timeoutMs = (options.timeoutSeconds ?? 10) * 1000;
	const settings: SendSettings = {
		channel: route.channel,
		cloudApi: route.channel === 'cloudApi' ? await cloudApiConfig(ctx, options.allowInternal === true, timeoutMs) : undefined,
		qr: route.channel === 'qrSession' || route.fallbackToQr ? await qrSessionConfig(ctx, timeoutMs) : undefined,
		fallbackToQr: route.fallbackToQr,
		qrText: String(ctx.getNodeParameter('qrText', 0, '') ?? ''),
		fallbackTemplate: fallbackTemplateOf(options),
		rules,
		idempotencyWindowMs: (options.idempotencyHours ?? 24) * HOUR_MS,
		claimLeaseMs: 60_000,
		resendInterrupted: options.resendInterrupted === true,
		policy: {
			attempts: options.attempts ?? 3,
			schedule: { kind: 'exponential', baseMs: 1000, factor: 2, maxMs: 60_000, jitter: 0.2 },
			maxInlineWaitMs: run.maxInlineWaitMs,
			clock: run.clock,
		},
		signal: ctx.getExecutionCancelSignal?.(),
	};
	if (!run.testRun) requireCredential(ctx, settings);
	return settings;
}

/** A real send needs the chosen channel's credential (the Cloud API's may fall back to QR). */
function requireCredential(ctx: IExecuteFunctions, settings: SendSettings): void {
	if (settings.channel === 'cloudApi' && !settings.cloudApi && !settings.fallbackToQr) {
		throw new NodeOperationError(ctx.getNode(), 'No WhatsApp Cloud API credential selected', { description: 'Select a Lead Pipeline WhatsApp API credential, or use the QR session channel.' });
	}
	if (settings.channel === 'qrSession' && !settings.qr) {
		throw new NodeOperationError(ctx.getNode(), 'No QR session credential selected', { description: 'Select a Lead Pipeline QR Session API credential.' });
	}
}

function authError(ctx: IExecuteFunctions, error: ChannelAuthError): NodeApiError {
	const f = error.failure;
	return new NodeApiError(
		ctx.getNode(),
		{ message: f.message, code: f.code ?? null, fbtrace_id: f.fbtraceId ?? null },
		{ message: error.message, description: f.fix, httpCode: String(f.httpStatus ?? 401) },
	);
}

/** One input item to its output; a test run (no sender) shows what it would send. */
async function sendOne(ctx: IExecuteFunctions, run: SendRun, input: INodeExecutionData, i: number, sender: WhatsAppSender | undefined, settings: SendSettings, options: SendOptions): Promise<void> {
	const pairedItem = { item: i };
	try {
		const item = itemOf(ctx, i, input.json, options.messageField ?? '');
		if (!sender) {
			run.out[0].push({ json: { ...input.json, whatsApp: previewSend(item, settings, settings.policy.clock.now()) as IDataObject }, pairedItem });
			return;
		}
		const result = await sender.send(item);
		run.events.push({ traceId: item.traceId, counter: COUNTER.whatsapp, labels: { outcome: result.output } });
		// A deferred item carries its message, so whatever sends it later sends this same one.
		const whatsApp = result.output === 'deferred' ? { ...result.whatsApp, message: item.message } : result.whatsApp;
		run.out[OUTPUT_INDEX[result.output]].push({ json: { ...input.json, whatsApp: whatsApp as IDataObject }, pairedItem });
	} catch (error) {
		if (error instanceof ChannelAuthError) throw authError(ctx, error);
		if (!(error instanceof MessageInputError)) throw new NodeOperationError(ctx.getNode(), error as Error, { itemIndex: i });
		const failure = new NodeOperationError(ctx.getNode(), `Item ${i}: ${error.message}`, { itemIndex: i, description: `Fix "${error.field}" on the node (or the lead data it reads).` });
		if (!ctx.continueOnFail()) throw failure;
		// No `error` on the item: n8n would replace its json with the message and the lead would be lost.
		run.out[1].push({ json: { ...input.json, error: failure.message, whatsApp: { outcome: 'notSent', reason: error.message, field: error.field } }, pairedItem });
	}
}

/**
 * Send: one item per lead → Sent / Not Sent / Deferred. Not Sent also takes the sends whose outcome
 * is unknown (outcome "unknown", needsPerson): a fourth output would shift the error output
 * ("On Error: Continue (using error output)") of every saved workflow to a new index.
 */
export async function executeSend(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const options = this.getNodeParameter('options', 0, {}) as SendOptions;
	const route = channelRouteOf(this);
	const clock = whatsAppClock();
	const testRun = this.getMode() === 'manual' && !options.sendInTestRuns;
	const maxInlineWaitMs = maxInlineWaitMsOf(this, options);
	const store = testRun ? undefined : await openWhatsAppStore(this, options.logDays ?? 30);
	const run: SendRun = { out: [[], [], []], events: [] };
	try {
		const settings = await sendSettingsOf(this, options, route, { testRun, clock, maxInlineWaitMs, timeZone: store?.timeZone ?? this.getTimezone() });
		const sender = store ? new WhatsAppSender(settings, { log: store.log, counters: store.counters, clock }) : undefined;
		for (let i = 0; i < items.length; i++) await sendOne(this, run, items[i], i, sender, settings, options);
	} finally {
		// Also when an item failed the batch: the messages before it were sent.
		if (store) await recordMetrics(this.logger, store.redis, metricsScope(this.getMode(), options as IDataObject, store), run.events);
		await store?.close();
	}
	return run.out;
}
