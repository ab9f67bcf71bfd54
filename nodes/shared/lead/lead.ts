import { z } from 'zod';

import { normalizePhone, PhoneNumberError, type CountryCode } from './phone';
import { TRACE_ID_PATTERN } from './trace';

export const LEAD_CHANNELS = ['WEBSITE', 'WHATSAPP', 'WHATSAPP_BOT', 'INSTAGRAM_BOT'] as const;
export type LeadChannel = (typeof LEAD_CHANNELS)[number];

export const FILTRATION_PROCESSES = ['NO_FILTER', 'PSV', 'WEST', 'UNKNOWN', 'UPCOMING'] as const;
export type FiltrationProcess = (typeof FILTRATION_PROCESSES)[number];

const E164 = /^\+[1-9]\d{6,14}$/;

const traceId = z.string({ required_error: 'is required' }).regex(TRACE_ID_PATTERN, {
	message: 'must be a 26-character trace id',
});
const isoTime = z.string({ required_error: 'is required' }).datetime({
	offset: true,
	message: 'must be an ISO 8601 date-time',
});
const optionalText = (max: number) =>
	z
		.string({ invalid_type_error: 'must be text' })
		.trim()
		.max(max, { message: `must be at most ${max} characters` })
		.optional();

export const leadSourceSchema = z.object({
	channel: z.enum(LEAD_CHANNELS, {
		errorMap: () => ({ message: `must be one of ${LEAD_CHANNELS.join(', ')}` }),
	}),
	/** Form id, bot id, WhatsApp phone-number id or Instagram account id the lead came through. */
	id: optionalText(200),
	/** The channel's own message id (wamid, Instagram mid, a bot's messageId). */
	messageId: optionalText(500),
	/** The caller's Idempotency-Key header (forms and bots), when it sent one. */
	idempotencyKey: optionalText(500),
	/** Bulk import the lead came in with, and its row (0-based) in that import. */
	importId: optionalText(200),
	importRow: z.number().int().nonnegative().optional(),
});

export const utmSchema = z
	.object({
		source: optionalText(500),
		medium: optionalText(500),
		campaign: optionalText(500),
		term: optionalText(500),
		content: optionalText(500),
	})
	.strict();

export const leadSchema = z
	.object({
		traceId,
		source: leadSourceSchema,
		name: optionalText(200),
		phone: z
			.string({ invalid_type_error: 'must be text' })
			.regex(E164, { message: 'must be E.164, e.g. +919845098450' })
			.optional(),
		waId: z
			.string()
			.regex(/^\d{6,15}$/, { message: 'must be 6 to 15 digits' })
			.optional(),
		instagramUserId: optionalText(100),
		email: z
			.string({ invalid_type_error: 'must be text' })
			.trim()
			.toLowerCase()
			.email({ message: 'must be an email address' })
			.optional(),
		destination: optionalText(200),
		message: optionalText(10_000),
		utm: utmSchema.optional(),
		receivedAt: isoTime,
		raw: z.unknown(),
		/** Set on leads from an editor test run (the test URL): they live in test streams and keys only. */
		testRun: z.literal(true).optional(),
	})
	.superRefine((lead, ctx) => {
		if (!lead.phone && !lead.email && !lead.instagramUserId && !lead.waId) {
			ctx.addIssue({
				code: z.ZodIssueCode.custom,
				path: ['phone'],
				message: 'a lead needs a phone, an email or a channel user id to be reached',
			});
		}
	});
export type Lead = z.infer<typeof leadSchema>;

export const opportunitySchema = z.object({
	opportunityId: z.string().min(1),
	traceId,
	leadId: z.string().min(1),
	channel: z.enum(LEAD_CHANNELS),
	destination: optionalText(200),
	stage: z.string().min(1).default('NEW'),
	filtrationProcess: z.enum(FILTRATION_PROCESSES).optional(),
	tags: z.array(z.string()).default([]),
	score: z.number().optional(),
	isDuplicate: z.boolean().default(false),
	duplicateOf: z.string().optional(),
	matchedOn: z.enum(['phone', 'email', 'nameDestination']).optional(),
	crm: z
		.object({
			system: z.string(),
			id: z.string().optional(),
			pushedAt: isoTime.optional(),
		})
		.optional(),
	createdAt: isoTime,
	updatedAt: isoTime,
});
export type Opportunity = z.infer<typeof opportunitySchema>;

export const leadProfileSchema = z.object({
	leadId: z.string().min(1),
	phone: z.string().regex(E164).optional(),
	waId: z.string().optional(),
	email: z.string().email().optional(),
	name: optionalText(200),
	activeOpportunityIds: z.array(z.string()).default([]),
	createdAt: isoTime,
	updatedAt: isoTime,
});
export type LeadProfile = z.infer<typeof leadProfileSchema>;

export interface FieldError {
	/** Dotted path of the offending field, e.g. "utm.source"; "" for the whole object. */
	field: string;
	message: string;
}

export function fieldErrors(error: z.ZodError): FieldError[] {
	return error.issues.map((issue) => ({ field: issue.path.join('.'), message: issue.message }));
}

export class LeadValidationError extends Error {
	constructor(readonly fields: FieldError[]) {
		super(`Invalid lead: ${fields.map((f) => `${f.field || '(lead)'} ${f.message}`).join('; ')}`);
		this.name = 'LeadValidationError';
	}
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

function parseWith<T>(schema: z.ZodType<T, z.ZodTypeDef, unknown>, input: unknown): ParseResult<T> {
	const result = schema.safeParse(input);
	return result.success
		? { ok: true, value: result.data }
		: { ok: false, errors: fieldErrors(result.error) };
}

export const parseLead = (input: unknown): ParseResult<Lead> => parseWith(leadSchema, input);

/** A lead as a channel adapter has it: phone still as the person typed it. */
export type LeadDraft = Omit<Partial<Lead>, 'phone'> & { phone?: unknown };

export interface NormalizeOptions {
	defaultCountry?: CountryCode;
}

/**
 * Turns a draft into a canonical Lead: phone to E.164, email lowercased, blanks dropped. Every bad
 * field is reported at once, so a caller can fix a form in one round.
 */
export function normalizeLead(draft: LeadDraft, options: NormalizeOptions = {}): ParseResult<Lead> {
	const errors: FieldError[] = [];
	const candidate: Record<string, unknown> = { ...draft };
	for (const key of Object.keys(candidate)) {
		if (candidate[key] === '' || candidate[key] === null) delete candidate[key];
	}
	if (candidate.phone !== undefined) {
		try {
			const phone = normalizePhone(candidate.phone, options);
			candidate.phone = phone.e164;
			candidate.waId ??= phone.waId;
		} catch (error) {
			if (!(error instanceof PhoneNumberError)) throw error;
			// The reason only: an error text must not echo the number (personal data, kept in logs).
			errors.push({ field: 'phone', message: `is not a valid phone number: ${error.reason}` });
			delete candidate.phone;
		}
	}
	const parsed = parseLead(candidate);
	if (parsed.ok && errors.length === 0) return parsed;
	const schemaErrors = parsed.ok ? [] : parsed.errors;
	// A phone we already rejected should not also be reported as "needs a phone".
	const merged = [...errors, ...schemaErrors.filter((e) => !(errors.length && e.field === 'phone'))];
	return { ok: false, errors: merged };
}

/**
 * Keys that turn a plain JSON object into a trap: n8n's expression engine cannot clone an item that
 * has them ("function Object() could not be cloned"), and code that merges objects may pollute
 * prototypes through them. A received payload loses them at every depth before anything reads it.
 */
const HOSTILE_KEYS = new Set(['constructor', '__proto__', 'prototype']);

/** Nesting beyond this is not kept even before the raw cap (it would only risk the stack). */
const HARD_MAX_DEPTH = 64;

const depthMarker = (maxDepth: number) => `[cut: deeper than ${maxDepth} levels]`;

function copyWithout(value: unknown, level: number, maxDepth: number): unknown {
	if (value === null || typeof value !== 'object') return value;
	if (level > maxDepth) return depthMarker(maxDepth);
	if (Array.isArray(value)) return value.map((item) => copyWithout(item, level + 1, maxDepth));
	const out: Record<string, unknown> = {};
	for (const key of Object.keys(value)) {
		if (!HOSTILE_KEYS.has(key)) out[key] = copyWithout((value as Record<string, unknown>)[key], level + 1, maxDepth);
	}
	return out;
}

/** A copy of parsed JSON without constructor / __proto__ / prototype keys, at any depth. */
export function sanitizePayload<T>(value: T): T {
	return copyWithout(value, 1, HARD_MAX_DEPTH) as T;
}

export interface RawPolicy {
	/** false: leads carry no `raw` at all. */
	include: boolean;
	/** Over this many bytes of JSON, `raw` becomes a note saying so. */
	maxBytes: number;
	/** Objects nested deeper than this are replaced by a marker (the top-level object is level 1). */
	maxDepth: number;
}

export const DEFAULT_RAW_POLICY: RawPolicy = { include: true, maxBytes: 16_384, maxDepth: 10 };

export interface TruncatedRaw {
	truncated: true;
	reason: string;
	bytes: number;
}

/** `raw` as a lead keeps it under the policy (undefined when left out). */
export function capRaw(raw: unknown, policy: RawPolicy = DEFAULT_RAW_POLICY): unknown {
	if (!policy.include || raw === undefined) return undefined;
	const cut = copyWithout(raw, 1, Math.min(Math.max(1, policy.maxDepth), HARD_MAX_DEPTH));
	const bytes = Buffer.byteLength(JSON.stringify(cut) ?? '', 'utf8');
	if (bytes <= policy.maxBytes) return cut;
	const note: TruncatedRaw = { truncated: true, reason: `raw was ${bytes} bytes, over the ${policy.maxBytes}-byte cap (option Raw Max Size)`, bytes };
	return note;
}
