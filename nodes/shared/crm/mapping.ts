import type { FieldMapping } from './types';

/** Roots a mapping value may read; any other value is sent as written (a fixed text). */
const PATH_ROOTS = ['lead', 'opportunity', 'traceId', 'opportunityId', 'owner', 'message'];

export function isPath(value: string): boolean {
	const root = value.trim().split('.')[0];
	return PATH_ROOTS.includes(root) && /^[A-Za-z_$][\w$]*(\.[\w$]+)*$/.test(value.trim());
}

export function readPath(context: Record<string, unknown>, path: string): unknown {
	let current: unknown = context;
	for (const part of path.trim().split('.')) {
		if (current === null || typeof current !== 'object') return undefined;
		current = (current as Record<string, unknown>)[part];
	}
	return current;
}

/** Resolves each mapping; empty values are left out (a CRM field is not blanked by a missing lead field). */
export function resolveMappings(mappings: FieldMapping[], context: Record<string, unknown>): Array<{ field: string; value: string }> {
	const out: Array<{ field: string; value: string }> = [];
	for (const { field, value } of mappings) {
		if (!field?.trim()) continue;
		const raw = isPath(value ?? '') ? readPath(context, value) : value;
		if (raw === undefined || raw === null || raw === '') continue;
		out.push({ field: field.trim(), value: typeof raw === 'object' ? JSON.stringify(raw) : String(raw) });
	}
	return out;
}

export const DEFAULT_LEADSQUARED_LEAD_ATTRIBUTES: FieldMapping[] = [
	{ field: 'FirstName', value: 'lead.name' },
	{ field: 'Phone', value: 'lead.phone' },
	{ field: 'EmailAddress', value: 'lead.email' },
	{ field: 'Source', value: 'opportunity.channel' },
];

export const DEFAULT_LEADSQUARED_OPPORTUNITY_FIELDS: FieldMapping[] = [
	{ field: 'Status', value: 'Open' },
	{ field: 'mx_Custom_1', value: 'traceId' },
	{ field: 'mx_Custom_2', value: 'opportunity.destination' },
];
