import { type IDataObject, type IExecuteFunctions, type INodeExecutionData, NodeApiError, NodeOperationError } from 'n8n-workflow';

import { type ChannelName, isChannelName, UnknownChannelError, whatsAppClock, assertTimeZone, BusinessRulesError, parseHolidays, parseOpeningHours, messageAtPath, MessageInputError, type OutgoingMessage, type TemplateMessage, type TemplateParameter, PRIORITIES, type OutreachRules, type Priority, ChannelAuthError, previewSend, WhatsAppSender, type SendItem, type SendSettings } from '../../shared/whatsapp';
import { leadOfItem } from '../../shared/lead';
import { metricsScope, recordMetrics } from '../../common/metricsOptions';
import { COUNTER, type DecisionEvent } from '../../shared/metrics';
import { cloudApiConfig, openWhatsAppStore, qrSessionConfig } from '../context';

const HOUR_MS = 3_600_000;

/** The Channel parameter's one value that is no channel of its own: the Cloud API, QR when it fails. */
const CLOUD_API_WITH_QR_FALLBACK = 'cloudApiWithQrFallback';

/** The channel the Channel parameter names (from the registry); an unknown one stops the node. */
function channelOf(ctx: IExecuteFunctions, parameter: string): ChannelName {
	if (parameter === CLOUD_API_WITH_QR_FALLBACK) return 'cloudApi';
	if (isChannelName(parameter)) return parameter;
	const unknown = new UnknownChannelError(parameter);
	throw new NodeOperationError(ctx.getNode(), unknown.message, { description: 'Choose a Channel on the node: Cloud API, QR Session, or Cloud API with the QR fallback.' });
}

interface Options {
	allowInternal?: boolean;
	attempts?: number;
	idempotencyHours?: number;
	resendInterrupted?: boolean;
	fallbackTemplate?: { template?: { name?: string; language?: string; bodyParameters?: string } };
	logDays?: number;
	messageField?: string;
	maxInlineWaitSeconds?: number;
	sendInTestRuns?: boolean;
	timeoutSeconds?: number;
}

function parametersOf(ctx: IExecuteFunctions, name: string, i: number): TemplateParameter[] {
	const list = (ctx.getNodeParameter(`${name}.parameter`, i, []) as Array<{ value?: string; name?: string }>) ?? [];
	return list.map((p) => ({ text: String(p.value ?? ''), ...(p.name?.trim() ? { name: p.name.trim() } : {}) }));
}

function messageOf(ctx: IExecuteFunctions, i: number): OutgoingMessage {
	if (ctx.getNodeParameter('messageType', i) === 'text') {
		return { kind: 'text', body: String(ctx.getNodeParameter('text', i, '')), previewUrl: ctx.getNodeParameter('previewUrl', i, false) as boolean };
	}
	const buttons = (ctx.getNodeParameter('buttons.button', i, []) as Array<{ subType: 'quick_reply' | 'url'; index: number; value: string }>) ?? [];
	return {
		kind: 'template',
		name: String(ctx.getNodeParameter('templateName', i, '')).trim(),
		language: String(ctx.getNodeParameter('languageCode', i, '')).trim(),
		header: parametersOf(ctx, 'headerParameters', i),
		body: parametersOf(ctx, 'bodyParameters', i),
		buttons: buttons.map((b) => ({ subType: b.subType, index: Number(b.index), value: String(b.value ?? '') })),
	};
}

function fallbackTemplateOf(options: Options): TemplateMessage | undefined {
	const t = options.fallbackTemplate?.template;
	if (!t?.name?.trim()) return undefined;
	const body = String(t.bodyParameters ?? '').split('\n').map((s) => s.trim()).filter(Boolean).map((text) => ({ text }));
	return { kind: 'template', name: t.name.trim(), language: String(t.language ?? 'en_US').trim(), header: [], body, buttons: [] };
}

function rulesOf(ctx: IExecuteFunctions, defaultZone: string): OutreachRules | undefined {
	if (!ctx.getNodeParameter('useBusinessRules', 0, false)) return undefined;
	const zone = String(ctx.getNodeParameter('timeZone', 0, '')).trim() || defaultZone;
	return {
		hours: {
			timeZone: assertTimeZone(zone),
			days: parseOpeningHours(String(ctx.getNodeParameter('openingHours', 0, ''))),
			holidays: parseHolidays(String(ctx.getNodeParameter('holidays', 0, ''))),
		},
		outsideHours: ctx.getNodeParameter('outsideHours', 0, 'defer') === 'reject' ? 'reject' : 'defer',
		dailyTarget: Number(ctx.getNodeParameter('dailyTarget', 0, 0)) || 0,
		dailyMax: Number(ctx.getNodeParameter('dailyMax', 0, 0)) || 0,
		hourlyLimit: Number(ctx.getNodeParameter('hourlyLimit', 0, 0)) || 0,
	};
}

const textOf = (value: unknown): string => (typeof value === 'string' || typeof value === 'number' ? String(value).trim() : '');

function itemOf(ctx: IExecuteFunctions, i: number, json: IDataObject, messageField: string): SendItem {
	// Fields left empty read the item's lead: the template then evaluates no expression per item
	// for them (n8n 2.x runs every expression through an isolate, a large share of a lead's CPU).
	const lead = leadOfItem(json);
	const traceId = textOf(ctx.getNodeParameter('traceId', i, '')) || textOf(lead.traceId);
	if (!traceId) throw new MessageInputError('Trace ID', 'is empty: map the lead\'s traceId (the item has none)');
	const to = textOf(ctx.getNodeParameter('to', i, '')) || textOf(lead.waId) || textOf(lead.phone);
	if (!to) throw new MessageInputError('To', 'is empty: the lead has no phone or WhatsApp ID');
	const priority = String(ctx.getNodeParameter('priority', i, 'normal')) as Priority;
	if (!PRIORITIES.includes(priority)) throw new MessageInputError('Priority', `"${priority}" is not one of ${PRIORITIES.join(', ')}`);
	// A message carried on the item (a deferred send queued for later) is the one to send.
	return { traceId, to, priority, message: messageAtPath(json, messageField) ?? messageOf(ctx, i) };
}

function authError(ctx: IExecuteFunctions, error: ChannelAuthError): NodeApiError {
	const f = error.failure;
	return new NodeApiError(
		ctx.getNode(),
		{ message: f.message, code: f.code ?? null, fbtrace_id: f.fbtraceId ?? null },
		{ message: error.message, description: f.fix, httpCode: String(f.httpStatus ?? 401) },
	);
}

/**
 * Send: one item per lead → Sent / Not Sent / Deferred. Not Sent also takes the sends whose outcome
 * is unknown (outcome "unknown", needsPerson): a fourth output would shift the error output
 * ("On Error: Continue (using error output)") of every saved workflow to a new index.
 */
/** Longest retry wait slept inside an execution (the same bound as Webhook Deliver's). */
const MAX_INLINE_WAIT_SECONDS = 30;

export async function executeSend(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
	const items = this.getInputData();
	const options = this.getNodeParameter('options', 0, {}) as Options;
	const channelParam = this.getNodeParameter('channel', 0) as string;
	const channel = channelOf(this, channelParam);
	const timeoutMs = (options.timeoutSeconds ?? 10) * 1000;
	const clock = whatsAppClock();
	const testRun = this.getMode() === 'manual' && !options.sendInTestRuns;
	const maxInlineWaitSeconds = options.maxInlineWaitSeconds ?? 30;
	// A longer sleep keeps the batch's execution alive past what a consumer's claim and Max
	// Execution Time are set for; longer waits leave through Deferred (the outreach queue holds them).
	if (maxInlineWaitSeconds > MAX_INLINE_WAIT_SECONDS) {
		throw new NodeOperationError(this.getNode(), `Longest Wait in Run (Seconds) is ${maxInlineWaitSeconds}: at most ${MAX_INLINE_WAIT_SECONDS} s`, {
			description: `A wait longer than ${MAX_INLINE_WAIT_SECONDS} s would hold the whole batch inside the execution, past the consumer's claim. Set ${MAX_INLINE_WAIT_SECONDS} or less: longer waits go to the Deferred output with sendAfter, and the outreach queue sends them when due.`,
		});
	}

	const store = testRun ? undefined : await openWhatsAppStore(this, options.logDays ?? 30);
	const out: INodeExecutionData[][] = [[], [], []];
	const events: DecisionEvent[] = [];
	try {
		let rules: OutreachRules | undefined;
		try {
			rules = rulesOf(this, store?.timeZone ?? this.getTimezone());
		} catch (error) {
			if (error instanceof BusinessRulesError) {
				throw new NodeOperationError(this.getNode(), error.message, { description: `Fix "${error.field}" under Business Rules.` });
			}
			throw new NodeOperationError(this.getNode(), error as Error);
		}
		const settings: SendSettings = {
			channel,
			cloudApi: channel === 'cloudApi' ? await cloudApiConfig(this, options.allowInternal === true, timeoutMs) : undefined,
			qr: channelParam === 'cloudApi' ? undefined : await qrSessionConfig(this, timeoutMs),
			fallbackToQr: channelParam === CLOUD_API_WITH_QR_FALLBACK,
			qrText: String(this.getNodeParameter('qrText', 0, '') ?? ''),
			fallbackTemplate: fallbackTemplateOf(options),
			rules,
			idempotencyWindowMs: (options.idempotencyHours ?? 24) * HOUR_MS,
			claimLeaseMs: 60_000,
			resendInterrupted: options.resendInterrupted === true,
			policy: {
				attempts: options.attempts ?? 3,
				schedule: { kind: 'exponential', baseMs: 1000, factor: 2, maxMs: 60_000, jitter: 0.2 },
				maxInlineWaitMs: maxInlineWaitSeconds * 1000,
				clock,
			},
			signal: this.getExecutionCancelSignal?.(),
		};
		if (channel === 'cloudApi' && !settings.cloudApi && !settings.fallbackToQr && !testRun) {
			throw new NodeOperationError(this.getNode(), 'No WhatsApp Cloud API credential selected', { description: 'Select a Lead Pipeline WhatsApp API credential, or use the QR session channel.' });
		}
		if (channelParam !== 'cloudApi' && !settings.qr && !testRun && channel === 'qrSession') {
			throw new NodeOperationError(this.getNode(), 'No QR session credential selected', { description: 'Select a Lead Pipeline QR Session API credential.' });
		}
		const sender = store ? new WhatsAppSender(settings, { log: store.log, counters: store.counters, clock }) : undefined;
		for (let i = 0; i < items.length; i++) {
			const pairedItem = { item: i };
			try {
				const item = itemOf(this, i, items[i].json, options.messageField ?? '');
				if (!sender) {
					out[0].push({ json: { ...items[i].json, whatsApp: previewSend(item, settings, clock.now()) as IDataObject }, pairedItem });
					continue;
				}
				const result = await sender.send(item);
				events.push({ traceId: item.traceId, counter: COUNTER.whatsapp, labels: { outcome: result.output } });
				const index = result.output === 'sent' ? 0 : result.output === 'notSent' ? 1 : 2;
				// A deferred item carries its message, so whatever sends it later sends this same one.
				const whatsApp = result.output === 'deferred' ? { ...result.whatsApp, message: item.message } : result.whatsApp;
				out[index].push({ json: { ...items[i].json, whatsApp: whatsApp as IDataObject }, pairedItem });
			} catch (error) {
				if (error instanceof ChannelAuthError) throw authError(this, error);
				if (!(error instanceof MessageInputError)) throw new NodeOperationError(this.getNode(), error as Error, { itemIndex: i });
				const failure = new NodeOperationError(this.getNode(), `Item ${i}: ${error.message}`, { itemIndex: i, description: `Fix "${error.field}" on the node (or the lead data it reads).` });
				if (!this.continueOnFail()) throw failure;
				// No `error` on the item: n8n would replace its json with the message and the lead would be lost.
				out[1].push({ json: { ...items[i].json, error: failure.message, whatsApp: { outcome: 'notSent', reason: error.message, field: error.field } }, pairedItem });
			}
		}
	} finally {
		// Also when an item failed the batch: the messages before it were sent.
		if (store) await recordMetrics(this.logger, store.redis, metricsScope(this.getMode(), options as IDataObject, store), events);
		await store?.close();
	}
	return out;
}
