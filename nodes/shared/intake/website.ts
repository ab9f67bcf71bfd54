import { isRecord, notAnObject, pick, textOf, type ChannelDraft, type IntakeChannel } from './draft';
import type { FormFieldMapping } from './fieldMappings';

export const DEFAULT_FORM_FIELDS: FormFieldMapping = {
	name: 'name',
	phone: 'phone',
	email: 'email',
	destination: 'destination',
	message: 'message',
};

const UTM_KEYS = ['source', 'medium', 'campaign', 'term', 'content'] as const;

function utmOf(form: Record<string, unknown>): ChannelDraft['utm'] {
	const nested = isRecord(form.utm) ? form.utm : {};
	const utm: Record<string, string> = {};
	for (const key of UTM_KEYS) {
		const value = textOf(form[`utm_${key}`]) ?? textOf(nested[key]);
		if (value) utm[key] = value;
	}
	return Object.keys(utm).length ? utm : undefined;
}

/** One website enquiry-form submission (JSON or urlencoded, already parsed) as a draft lead. */
export function websiteFormDraft(form: Record<string, unknown>, fields: FormFieldMapping, formId?: string): ChannelDraft {
	return {
		source: { channel: 'WEBSITE', id: formId },
		name: textOf(pick(form, fields.name)),
		phone: textOf(pick(form, fields.phone)),
		email: textOf(pick(form, fields.email)),
		destination: textOf(pick(form, fields.destination)),
		message: textOf(pick(form, fields.message)),
		utm: utmOf(form),
		raw: form,
	};
}

/** The website channel: one form submission is one draft. */
export const websiteChannel: IntakeChannel = (body, context) =>
	isRecord(body) ? { drafts: [websiteFormDraft(body, context.formFields)], events: [] } : notAnObject(body);

export interface BulkImport {
	importId: string;
	leads: unknown[];
}

export function isBulkImport(body: unknown): body is BulkImport {
	return isRecord(body) && typeof body.importId === 'string' && Array.isArray(body.leads);
}
