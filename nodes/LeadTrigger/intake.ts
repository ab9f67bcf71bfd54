import type Redis from 'ioredis';
import type { IDataObject, INodeExecutionData, IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';

import { DEFAULT_BOT_FIELDS, looksLikeBot, type BotFieldMapping, DEFAULT_MAX_ROWS, getImportStatus, runImport, finalizeDrafts, isRecord, withRawPolicy, type Extracted, enqueueLeads, DEFAULT_REJECTED_STREAM_CAP, invalidLeadEntry, keepRejected, rejectedEntry, RejectedStreamFullError, type RejectedEntry, DEFAULT_FORM_FIELDS, isBulkImport, websiteFormDraft, type FormFieldMapping, formSignedContent, safeEqual, timestampWithin, verifyBodyHmac, verifyMetaSignature, importRowLead, intakeChannel, META_SOURCES, UnknownIntakeChannelError, type IntakeSource } from '../shared/intake';
import { DEFAULT_RAW_POLICY, type Lead, type RawPolicy, isCountryCode, type CountryCode, newTraceId } from '../shared/lead';
import { RedisConnectionError, withSharedRedis } from '../shared/queue';
import { cachedCredentials } from '../common/credentialCache';
import { REDIS_CREDENTIAL, toRedisCredentialData } from '../common/redisCredential';
import { countIntake } from './metrics';
import { admitIntake, DEFAULT_MAX_IN_FLIGHT, DEFAULT_SHED_AT_LAG_MS, OVERLOAD_RETRY_AFTER_SECONDS, type ShedLimits } from './overload';
import { header, parseBody, rawBodyOf, respond, respondText, type WebhookRequest, type WebhookResponse } from './http';

type Source = IntakeSource;

interface Settings {
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

function settings(ctx: IWebhookFunctions): Settings {
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

/** Meta webhook `object` values and the channel that reads them. */
const META_CHANNELS: Record<string, IntakeSource | undefined> = {
	whatsapp_business_account: 'whatsapp',
	instagram: 'instagram',
	// Facebook Page (Messenger) events are signed like the others but are not a lead channel yet.
	page: undefined,
};

const metaObjectOf = (body: unknown): string | undefined =>
	isRecord(body) && typeof body.object === 'string' && body.object in META_CHANNELS ? body.object : undefined;

function detectSource(body: unknown): Source {
	const object = metaObjectOf(body);
	if (object) return META_CHANNELS[object] ?? 'whatsapp';
	return looksLikeBot(body) ? 'whatsappBot' : 'website';
}

const isMeta = (source: Source | 'auto') => source !== 'auto' && META_SOURCES.includes(source);

async function metaCredential(ctx: IWebhookFunctions): Promise<{ appSecret: string; verifyToken: string }> {
	const cred = await cachedCredentials(ctx, 'leadPipelineWhatsAppApi');
	return { appSecret: String(cred.appSecret ?? ''), verifyToken: String(cred.verifyToken ?? '') };
}

type AuthOutcome = { ok: true } | { ok: false; error: string };
const AUTH_FAILED: AuthOutcome = { ok: false, error: 'Missing or invalid authentication header' };

/**
 * Form/bot authentication per the node's setting. HMAC covers the timestamp and Idempotency-Key
 * headers too (see formSignedContent); a timestamp outside the window is refused whatever the mode.
 */
async function formAuthorized(ctx: IWebhookFunctions, s: Settings, req: WebhookRequest, raw: Buffer): Promise<AuthOutcome> {
	if (s.authentication === 'none') return { ok: true };
	const cred = await cachedCredentials(ctx, 'leadPipelineFormSecretApi');
	const secret = String(cred.secret ?? '');
	const provided = header(req, String(cred.headerName || 'X-Lead-Signature'));
	const timestampHeader = String(cred.timestampHeaderName || 'X-Lead-Timestamp');
	const timestamp = header(req, timestampHeader);
	if (!secret || provided === undefined) return AUTH_FAILED;
	if (timestamp === undefined && s.requireTimestamp) {
		return { ok: false, error: `${timestampHeader} is required (Unix seconds, signed with the body): this trigger has Require Timestamp on` };
	}
	if (timestamp !== undefined && !timestampWithin(timestamp, s.timestampToleranceSeconds)) {
		return {
			ok: false,
			error: `${timestampHeader} is outside the ${s.timestampToleranceSeconds}-second window: sign each request with the current Unix time (seconds)`,
		};
	}
	const valid =
		s.authentication === 'hmac'
			? verifyBodyHmac(formSignedContent(raw, timestamp, header(req, 'idempotency-key')), provided, secret)
			: safeEqual(provided, secret);
	return valid ? { ok: true } : AUTH_FAILED;
}

/**
 * The process's request-path connection for this credential (see redisPool): its commands time
 * out, so a stalled Redis fails the request (answered 503) instead of holding the sender.
 */
async function withIntakeRedis<T>(ctx: IWebhookFunctions, task: (redis: Redis) => Promise<T>): Promise<T> {
	return await withSharedRedis(toRedisCredentialData(await cachedCredentials(ctx, REDIS_CREDENTIAL)), task, 'request');
}

/** Seconds a sender should wait before retrying a 503 (Redis away or stalled). */
export const RETRY_AFTER_SECONDS = 5;

const unavailable = (res: WebhookResponse) => {
	res.setHeader('retry-after', String(RETRY_AFTER_SECONDS));
	respond(res, 503, {
		error: 'The lead store is unavailable: nothing was stored, please retry',
		description: 'Retry with backoff. If it persists, the n8n owner should press Test on the Lead Pipeline Redis credential and check that Redis is running.',
	});
};

// The sender retries a 503, so a rejection the capped stream refused is not lost; the owner reads
// the warning (logged) and makes room by replaying or deleting entries, or raises the cap.
const rejectedStreamFull = (res: WebhookResponse) =>
	respond(res, 503, {
		error: 'This lead endpoint cannot keep more rejected submissions right now: nothing was stored, please retry later',
		description: 'The n8n owner should review the Lead Trigger\'s rejected stream (delete or replay entries) or raise its Rejected Stream Cap option.',
	});

/** Keeps rejected entries within the cap; warns from 90% of it (the option says so). */
async function keepRejectedEntries(ctx: IWebhookFunctions, s: Settings, redis: Redis, rejected: RejectedEntry[]): Promise<void> {
	const write = await keepRejected(redis, s.rejectedStream, rejected, s.rejectedStreamCap);
	if (write?.nearCap) {
		ctx.logger.warn(
			`Lead Trigger: rejected stream ${s.rejectedStream} holds ${write.length} of ${s.rejectedStreamCap} entries (option Rejected Stream Cap); at the cap new rejections are answered 503. Review or delete entries, or raise the cap.`,
		);
	}
}

function executionData(s: Settings, leads: Lead[], rejected: RejectedEntry[], events: unknown[]): IWebhookResponseData {
	const emitEvents = s.emitEvents ? events : [];
	// Enqueue Only leaves leads and rejected entries in their streams, but delivery statuses are
	// kept nowhere else: they still start an execution, on the Events output alone.
	const emitLeads = s.enqueueOnly ? [] : leads;
	const emitRejected = s.enqueueOnly ? [] : rejected;
	if (emitLeads.length + emitRejected.length + emitEvents.length === 0) return { noWebhookResponse: true };
	const items = (values: IDataObject[]): INodeExecutionData[] => values.map((json) => ({ json }));
	return {
		noWebhookResponse: true,
		workflowData: [
			items(emitLeads as unknown as IDataObject[]),
			items(emitRejected as unknown as IDataObject[]),
			items(emitEvents as IDataObject[]),
		],
	};
}

/** Stores leads (and, for Meta channels, rejects) before anything is answered. */
async function store(ctx: IWebhookFunctions, s: Settings, leads: Lead[], rejected: RejectedEntry[]) {
	if (!s.durable) return leads.map((lead) => ({ traceId: lead.traceId, stored: true as const, id: '' }));
	return await withIntakeRedis(ctx, async (redis) => {
		const results = await enqueueLeads(redis, s.stream, leads, { maxLen: s.maxLen, replayWindowSeconds: s.replayWindowSeconds });
		await keepRejectedEntries(ctx, s, redis, rejected);
		countIntake(ctx, s, redis, leads.filter((_, i) => results[i].stored), rejected);
		return results;
	});
}

async function handleMeta(ctx: IWebhookFunctions, s: Settings, body: unknown, raw: Buffer, req: WebhookRequest, res: WebhookResponse) {
	const { appSecret } = await metaCredential(ctx);
	if (!verifyMetaSignature(raw, header(req, 'x-hub-signature-256'), appSecret)) {
		respond(res, 401, { error: 'Missing or invalid X-Hub-Signature-256' });
		return { noWebhookResponse: true };
	}
	// Read by the payload's own `object`, whatever the Source setting: one Meta app often sends
	// WhatsApp and Instagram to the same URL. What no channel reads is kept, not dropped.
	const object = isRecord(body) ? body.object : undefined;
	const channel = typeof object === 'string' ? META_CHANNELS[object] : undefined;
	const extracted: Extracted = channel ? intakeChannel(channel)(body, s) : { drafts: [], events: [] };
	const finalized = finalizeDrafts(extracted.drafts, { defaultCountry: s.defaultCountry, raw: s.raw, testRun: s.testRun });
	const { leads } = finalized;
	const rejected = finalized.rejected.map((r) => invalidLeadEntry(r));
	for (const part of extracted.unsupported ?? []) rejected.push(rejectedEntry('unsupportedPayload', part.detail, withRawPolicy({ raw: part.raw }, s.raw)));
	if (!channel) {
		const what = typeof object === 'string' ? `object "${object}"` : 'a payload without an "object"';
		rejected.push(rejectedEntry('unsupportedPayload', `Meta webhook with ${what}: the Lead Trigger reads whatsapp_business_account and instagram`, withRawPolicy({ raw: body }, s.raw)));
	}
	const results = await store(ctx, s, leads, rejected);
	const fresh = leads.filter((_, i) => results[i].stored);
	respondText(res, 200, 'EVENT_RECEIVED');
	return executionData(s, fresh, rejected, extracted.events);
}

async function handleBulkImport(ctx: IWebhookFunctions, s: Settings, body: { importId: string; leads: unknown[] }, res: WebhookResponse) {
	if (s.authentication === 'none') {
		respond(res, 403, { error: IMPORT_NEEDS_AUTH });
		return { noWebhookResponse: true };
	}
	if (!s.durable) {
		respond(res, 400, { error: 'Bulk import needs Durable Accept (a Redis credential) to queue the leads and keep progress' });
		return { noWebhookResponse: true };
	}
	if (body.leads.length > s.importMaxRows) {
		respond(res, 413, {
			error: `An import may hold at most ${s.importMaxRows} leads (option Import Max Rows); this one has ${body.leads.length}. Split it into imports of at most ${s.importMaxRows}, each under its own importId`,
		});
		return { noWebhookResponse: true };
	}
	const receivedAt = new Date().toISOString();
	const rows = { importId: body.importId, formFields: s.formFields, raw: s.raw, defaultCountry: s.defaultCountry, testRun: s.testRun, receivedAt };
	const toLead = (row: unknown, index: number) => importRowLead(row, index, rows);
	const status = await withIntakeRedis(ctx, async (redis) => await runImport(redis, {
		importId: body.importId,
		rows: body.leads,
		batchSize: s.importBatchSize,
		stream: s.stream,
		maxLen: s.maxLen,
		replayWindowSeconds: Math.max(s.replayWindowSeconds, 3600),
		testRun: s.testRun,
		toLead,
		onQueued: (leads) => countIntake(ctx, s, redis, leads, []),
	}));
	if ('conflict' in status) {
		respond(res, 409, { error: status.error });
		return { noWebhookResponse: true };
	}
	respond(res, status.status === 'failed' ? 503 : 200, status);
	return { noWebhookResponse: true };
}

async function handleFormOrBot(ctx: IWebhookFunctions, s: Settings, source: Source, body: unknown, raw: Buffer, req: WebhookRequest, res: WebhookResponse) {
	const auth = await formAuthorized(ctx, s, req, raw);
	if (!auth.ok) {
		respond(res, 401, { error: auth.error });
		return { noWebhookResponse: true };
	}
	if (!isRecord(body)) {
		respond(res, 400, { error: 'Invalid lead', errors: [{ field: '', message: 'the body must be a JSON object or a form' }] });
		return { noWebhookResponse: true };
	}
	if (source === 'website' && isBulkImport(body)) return await handleBulkImport(ctx, s, body, res);
	if (source === 'website' && s.honeypotField && String(body[s.honeypotField] ?? '').trim() !== '') {
		// Looks like success to a bot, but is kept aside: autofill can fill a hidden field for a person.
		if (s.durable) {
			const detail = `honeypot field "${s.honeypotField}" was filled`;
			const entry = rejectedEntry('honeypot', detail, withRawPolicy(websiteFormDraft(body, s.formFields), s.raw));
			await withIntakeRedis(ctx, async (redis) => {
				await keepRejectedEntries(ctx, s, redis, [entry]);
				countIntake(ctx, s, redis, [], [entry]);
			});
		}
		respond(res, s.successStatus, { traceId: newTraceId() });
		return { noWebhookResponse: true };
	}
	// A form or bot body (an object, checked above) is one draft.
	const [draft] = intakeChannel(source)(body, s).drafts;
	const idempotencyKey = header(req, 'idempotency-key');
	if (idempotencyKey) draft.source.idempotencyKey = idempotencyKey.slice(0, 500);
	const { leads, rejected } = finalizeDrafts([draft], { defaultCountry: s.defaultCountry, raw: s.raw, testRun: s.testRun });
	if (rejected.length) {
		respond(res, 400, { error: 'Invalid lead', errors: rejected[0].errors });
		return { noWebhookResponse: true };
	}
	const [result] = await store(ctx, s, leads, []);
	if (!result.stored) {
		respond(res, s.successStatus, { traceId: result.duplicateOf, duplicate: true });
		return { noWebhookResponse: true };
	}
	respond(res, s.successStatus, { traceId: result.traceId });
	return executionData(s, leads, [], []);
}

// Shed before the body is parsed or Redis is asked: the cheapest answer an overloaded process can give.
const overloaded = (res: WebhookResponse) => {
	res.setHeader('retry-after', String(OVERLOAD_RETRY_AFTER_SECONDS));
	respond(res, 503, {
		error: 'This lead endpoint is overloaded: nothing was stored, please retry',
		description: `Retry after the Retry-After header's seconds, with backoff and the same Idempotency-Key. If it persists, the n8n owner should add capacity or raise the Lead Trigger's Max Requests In Flight / Shed at Event Loop Delay options.`,
	});
};

export async function handlePost(ctx: IWebhookFunctions): Promise<IWebhookResponseData> {
	const res = ctx.getResponseObject() as unknown as WebhookResponse;
	const s = settings(ctx);
	const admission = admitIntake(s.shed);
	if (!admission.admitted) {
		ctx.logger.warn(`Lead Trigger shed a request (answered 503, nothing stored): ${admission.reason}`);
		overloaded(res);
		return { noWebhookResponse: true };
	}
	try {
		return await handleAdmittedPost(ctx, s, res);
	} finally {
		admission.release();
	}
}

async function handleAdmittedPost(ctx: IWebhookFunctions, s: Settings, res: WebhookResponse): Promise<IWebhookResponseData> {
	const req = ctx.getRequestObject() as unknown as WebhookRequest;
	try {
		const raw = rawBodyOf(req);
		const parsed = parseBody(req, raw);
		if (!parsed.ok) {
			respond(res, parsed.status, { error: parsed.error });
			return { noWebhookResponse: true };
		}
		const source = s.source === 'auto' ? detectSource(parsed.body) : s.source;
		if (isMeta(source)) return await handleMeta(ctx, s, parsed.body, raw, req, res);
		const metaObject = metaObjectOf(parsed.body);
		if (metaObject && header(req, 'x-hub-signature-256') !== undefined) {
			// Not a form: answering 4xx keeps Meta retrying while the setting is fixed, instead of a lead lost.
			respond(res, 400, {
				error:
					`This is a Meta webhook (object "${metaObject}") but the trigger's Source is ${s.source === 'website' ? 'Website Form' : 'WhatsApp Bot'}: ` +
					'set Source to WhatsApp Cloud API, Instagram or Auto-Detect and select the Lead Pipeline WhatsApp Cloud API credential',
			});
			return { noWebhookResponse: true };
		}
		return await handleFormOrBot(ctx, s, source, parsed.body, raw, req, res);
	} catch (error) {
		if (error instanceof UnknownIntakeChannelError) {
			// A Source no channel has is the node's setting, not the sender's fault: a retry cannot help.
			ctx.logger.error(`Lead Trigger: ${error.message}`);
			respond(res, 500, { error: 'This lead endpoint is misconfigured: nothing was stored', description: error.message });
			return { noWebhookResponse: true };
		}
		if (error instanceof RejectedStreamFullError) {
			ctx.logger.warn(`Lead Trigger: ${error.message}; answered 503 so the sender retries. Review or delete entries, or raise the cap.`);
			rejectedStreamFull(res);
			return { noWebhookResponse: true };
		}
		// Whatever failed (Redis away, a credential missing), nothing was acknowledged: the caller retries.
		const reason = error instanceof RedisConnectionError ? error.summary : (error as Error).message;
		ctx.logger.warn(`Lead Trigger could not accept a lead: ${reason}`);
		unavailable(res);
		return { noWebhookResponse: true };
	}
}

const IMPORT_NEEDS_AUTH =
	'Bulk import and import status need the trigger\'s Authentication: set Authentication to Shared Secret Header or HMAC-SHA256 on the Lead Trigger (with a Lead Pipeline Form Secret API credential) so only you can import';

/** GET: Meta's subscription handshake, or a bulk import's status (?importId=). */
export async function handleGet(ctx: IWebhookFunctions): Promise<IWebhookResponseData> {
	const req = ctx.getRequestObject() as unknown as WebhookRequest;
	const res = ctx.getResponseObject() as unknown as WebhookResponse;
	const query = ctx.getQueryData() as Record<string, unknown>;
	try {
		if (query['hub.mode'] !== undefined) {
			const { verifyToken } = await metaCredential(ctx);
			const token = String(query['hub.verify_token'] ?? '');
			if (query['hub.mode'] === 'subscribe' && verifyToken && safeEqual(token, verifyToken)) {
				respondText(res, 200, String(query['hub.challenge'] ?? ''));
			} else {
				respondText(res, 403, 'Verification failed');
			}
			return { noWebhookResponse: true };
		}
		if (typeof query.importId === 'string' && query.importId) {
			const s = settings(ctx);
			if (s.authentication === 'none') {
				respond(res, 403, { error: IMPORT_NEEDS_AUTH });
				return { noWebhookResponse: true };
			}
			// A GET has no body: its signed content is the importId.
			const auth = await formAuthorized(ctx, s, req, Buffer.from(query.importId));
			if (!auth.ok) {
				respond(res, 401, { error: auth.error });
				return { noWebhookResponse: true };
			}
			const status = await withIntakeRedis(ctx, async (redis) => await getImportStatus(redis, query.importId as string, ctx.getMode() === 'manual'));
			respond(res, status ? 200 : 404, status ?? { error: `No import ${query.importId} (imports are kept for 1 hour)` });
			return { noWebhookResponse: true };
		}
		respond(res, 400, { error: 'GET needs hub.mode (Meta verification) or importId (import status)' });
	} catch (error) {
		ctx.logger.warn(`Lead Trigger GET failed: ${(error as Error).message}`);
		unavailable(res);
	}
	return { noWebhookResponse: true };
}
