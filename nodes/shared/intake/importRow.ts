import { newTraceId, normalizeLead, type CountryCode, type Lead, type ParseResult, type RawPolicy } from '../lead';
import { isRecord, withRawPolicy } from './draft';
import type { FormFieldMapping } from './fieldMappings';
import { websiteFormDraft } from './website';

/** What a bulk import's rows share: the import, the form fields, and how leads are stamped. */
export interface ImportRowContext {
	importId: string;
	formFields: FormFieldMapping;
	raw?: RawPolicy;
	defaultCountry?: CountryCode;
	testRun?: boolean;
	/** One time for every row of the request (ISO). */
	receivedAt: string;
}

/**
 * One bulk-import row as a lead: a website form, stamped with its import and row (its replay
 * key, so a re-posted import queues no row twice), then normalized.
 */
export function importRowLead(row: unknown, index: number, c: ImportRowContext): ParseResult<Lead> {
	if (!isRecord(row)) return { ok: false, errors: [{ field: '', message: 'each lead must be a JSON object' }] };
	const draft = withRawPolicy(websiteFormDraft(row, c.formFields), c.raw);
	draft.source.importId = c.importId;
	draft.source.importRow = index;
	const stamped = { ...draft, traceId: newTraceId(), receivedAt: c.receivedAt, ...(c.testRun ? { testRun: true as const } : {}) };
	return normalizeLead(stamped, { defaultCountry: c.defaultCountry });
}
