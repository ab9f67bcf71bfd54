import type { IDataObject, IExecuteFunctions } from 'n8n-workflow';

import { leadOfItem } from '../../shared/lead';
import {
	assertTimeZone,
	messageAtPath,
	MessageInputError,
	parseHolidays,
	parseOpeningHours,
	PRIORITIES,
	type OutgoingMessage,
	type OutreachRules,
	type Priority,
	type SendItem,
	type TemplateMessage,
	type TemplateParameter,
} from '../../shared/whatsapp';

/** What the Send operation reads from the node: its options, the business rules, each item's message. */

export interface SendOptions {
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

export function fallbackTemplateOf(options: SendOptions): TemplateMessage | undefined {
	const t = options.fallbackTemplate?.template;
	if (!t?.name?.trim()) return undefined;
	const body = String(t.bodyParameters ?? '').split('\n').map((s) => s.trim()).filter(Boolean).map((text) => ({ text }));
	return { kind: 'template', name: t.name.trim(), language: String(t.language ?? 'en_US').trim(), header: [], body, buttons: [] };
}

export function rulesOf(ctx: IExecuteFunctions, defaultZone: string): OutreachRules | undefined {
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

export function itemOf(ctx: IExecuteFunctions, i: number, json: IDataObject, messageField: string): SendItem {
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
