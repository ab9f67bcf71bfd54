/**
 * The decision counters every node of the pack records, how one counter + labels becomes a hash
 * field, and where a day of counts lives in Redis. Pure: no Redis, no n8n.
 */

/** Counter names (what other nodes pass as `counter`). */
export const COUNTER = {
	received: 'received',
	rejected: 'rejected',
	duplicate: 'duplicate',
	new: 'new',
	routed: 'routed',
	stage: 'stage',
	qualified: 'qualified',
	crm: 'crm',
	whatsapp: 'whatsapp',
	webhook: 'webhook',
	retries: 'retries',
	deadLettered: 'deadLettered',
} as const;

export type CounterName = (typeof COUNTER)[keyof typeof COUNTER];

export const COUNTER_NAMES = Object.values(COUNTER) as CounterName[];

/** The labels each counter takes, in the order they are encoded. */
export const COUNTER_LABELS: Record<CounterName, readonly string[]> = {
	received: ['channel'],
	rejected: ['reason'],
	duplicate: ['matchedOn'],
	new: [],
	routed: ['process'],
	stage: ['from', 'to'],
	qualified: ['process'],
	crm: ['outcome'],
	whatsapp: ['outcome'],
	webhook: ['outcome'],
	retries: [],
	deadLettered: ['stream'],
};

/** The closed outcome sets; any other outcome is refused so a typo cannot invent a series. */
export const CRM_OUTCOME = { synced: 'synced', skipped: 'skipped', failed: 'failed' } as const;
export const WHATSAPP_OUTCOME = {
	sent: 'sent',
	notSent: 'notSent',
	deferred: 'deferred',
	delivered: 'delivered',
	read: 'read',
	failed: 'failed',
} as const;
export const WEBHOOK_OUTCOME = { delivered: 'delivered', failed: 'failed' } as const;

const OUTCOMES: Partial<Record<CounterName, readonly string[]>> = {
	crm: Object.values(CRM_OUTCOME),
	whatsapp: Object.values(WHATSAPP_OUTCOME),
	webhook: Object.values(WEBHOOK_OUTCOME),
};

export interface DecisionEvent {
	/** The idempotency key: the lead's traceId (for `retries`, the message id + delivery count). */
	traceId: string;
	counter: CounterName | string;
	labels?: Record<string, string | number | boolean | null | undefined>;
	/** How much to add; default 1. */
	by?: number;
}

const FIELD_SEPARATOR = '|';
const MAX_LABEL_LENGTH = 120;

/**
 * `counter|v1|v2`, values URI-encoded so a `|` inside a label cannot shift the others.
 * Returns an error text instead of a field when the event does not fit its counter.
 */
export function fieldOf(event: DecisionEvent): { field: string } | { error: string } {
	if (!event || typeof event.traceId !== 'string' || event.traceId.trim() === '') return { error: 'traceId is empty' };
	const labelNames = COUNTER_LABELS[event.counter as CounterName];
	if (!labelNames) return { error: `unknown counter "${event.counter}" (one of ${COUNTER_NAMES.join(', ')})` };
	const values: string[] = [];
	for (const name of labelNames) {
		const raw = event.labels?.[name];
		const value = raw === undefined || raw === null ? '' : String(raw).trim();
		if (!value) return { error: `counter "${event.counter}" needs label "${name}"` };
		values.push(encodeURIComponent(value.slice(0, MAX_LABEL_LENGTH)));
	}
	const allowed = OUTCOMES[event.counter as CounterName];
	if (allowed && !allowed.includes(String(event.labels?.outcome).trim())) {
		return { error: `counter "${event.counter}" outcome must be one of ${allowed.join(', ')}` };
	}
	if (event.by !== undefined && (!Number.isInteger(event.by) || event.by < 1)) {
		return { error: '"by" must be a positive whole number' };
	}
	return { field: [event.counter, ...values].join(FIELD_SEPARATOR) };
}

/** The inverse of fieldOf; undefined for a field this version does not know. */
export function parseField(field: string): { counter: CounterName; labels: string[] } | undefined {
	const [counter, ...encoded] = field.split(FIELD_SEPARATOR);
	const labelNames = COUNTER_LABELS[counter as CounterName];
	if (!labelNames || labelNames.length !== encoded.length) return undefined;
	try {
		return { counter: counter as CounterName, labels: encoded.map((v) => decodeURIComponent(v)) };
	} catch {
		return undefined;
	}
}

// Building a DateTimeFormat costs ~0.2 ms; the recorder needs one or two per batch (per Lead
// Trigger request), so they are kept per zone. An unknown zone throws and is not kept.
const dayFormats = new Map<string, Intl.DateTimeFormat>();
function dayFormat(timeZone: string): Intl.DateTimeFormat {
	let format = dayFormats.get(timeZone);
	if (!format) {
		format = new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' });
		if (dayFormats.size < 1000) dayFormats.set(timeZone, format);
	}
	return format;
}

/** YYYY-MM-DD of `at` in an IANA time zone ('UTC' for UTC). Throws RangeError on an unknown zone. */
export function dateIn(at: Date, timeZone: string): string {
	const parts = dayFormat(timeZone).formatToParts(at);
	const get = (type: string) => parts.find((p) => p.type === type)?.value ?? '';
	return `${get('year')}-${get('month')}-${get('day')}`;
}

export function isValidTimeZone(timeZone: string): boolean {
	try {
		dateIn(new Date(0), timeZone);
		return true;
	} catch {
		return false;
	}
}

/** Calendar arithmetic on YYYY-MM-DD strings (no time zone involved). */
export function addDays(date: string, days: number): string {
	const d = new Date(`${date}T00:00:00Z`);
	d.setUTCDate(d.getUTCDate() + days);
	return d.toISOString().slice(0, 10);
}

export function isDate(text: string): boolean {
	return /^\d{4}-\d{2}-\d{2}$/.test(text) && !Number.isNaN(Date.parse(`${text}T00:00:00Z`)) && addDays(text, 0) === text;
}

/** One hash per namespace, day boundary zone and date: `<ns>:metrics:day:<zone>:<date>`. */
export function dayKey(namespace: string, timeZone: string, date: string): string {
	return `${namespace}:metrics:day:${timeZone}:${date}`;
}

/** Which events were already counted, one hash per UTC day of first counting. */
export function seenKey(namespace: string, utcDate: string): string {
	return `${namespace}:metrics:seen:${utcDate}`;
}
