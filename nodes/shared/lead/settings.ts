/**
 * Pipeline settings a non-developer sets once (on the Lead Pipeline Redis credential) and every
 * node reads: where the lead store lives, the namespace that scopes it, the queue names and the
 * time zone. Pure: the n8n-facing reader is nodes/common/pipelineSettings.ts.
 */

export const LEAD_STORES = ['redis', 'mongodb'] as const;
export type LeadStoreKind = (typeof LEAD_STORES)[number];

export interface MongoConnection {
	connectionString: string;
	database: string;
}

export interface PipelineSettings {
	/** Scopes dedupe keys, profiles and opportunities (e.g. one per brand). */
	namespace: string;
	/** Stream new leads are queued on. */
	filterQueue: string;
	/** Stream Filter Router / Qualify hand opportunities to CRM Sync on. */
	syncQueue: string;
	/** IANA zone; '' = the n8n instance's (or workflow's) time zone. */
	timeZone: string;
	leadStore: LeadStoreKind;
	/** Only when leadStore is 'mongodb'. */
	mongo?: MongoConnection;
}

export const DEFAULT_PIPELINE_SETTINGS: Readonly<PipelineSettings> = Object.freeze({
	namespace: 'leads',
	filterQueue: 'filterQueue',
	syncQueue: 'syncQueue',
	timeZone: '',
	leadStore: 'redis',
});

export const DEFAULT_MONGO_DATABASE = 'leadPipeline';

/** A setting that cannot be used, named by the credential field a user has to fix. */
export class SettingsError extends Error {
	constructor(
		readonly field: string,
		message: string,
	) {
		super(`${field} ${message}`);
		this.name = 'SettingsError';
	}
}

const text = (value: unknown): string => (typeof value === 'string' ? value.trim() : value == null ? '' : String(value).trim());

export function isTimeZone(zone: string): boolean {
	try {
		new Intl.DateTimeFormat('en-US', { timeZone: zone });
		return true;
	} catch {
		return false;
	}
}

/** A stream or key-prefix name: no whitespace (it would split a Redis command line in tools). */
function name(field: string, value: unknown, fallback: string): string {
	const v = text(value) || fallback;
	if (/\s/.test(v)) throw new SettingsError(field, `must not contain spaces (got "${v}")`);
	if (v.length > 200) throw new SettingsError(field, 'must be at most 200 characters');
	return v;
}

/**
 * Settings from the credential's fields (or any object with the same field names); empty fields
 * take the defaults. Throws SettingsError naming the field that is wrong.
 */
export function pipelineSettingsFrom(fields: Record<string, unknown> | undefined): PipelineSettings {
	const f = fields ?? {};
	const settings: PipelineSettings = {
		namespace: name('Namespace', f.namespace, DEFAULT_PIPELINE_SETTINGS.namespace),
		filterQueue: name('Filter Queue', f.filterQueue, DEFAULT_PIPELINE_SETTINGS.filterQueue),
		syncQueue: name('Sync Queue', f.syncQueue, DEFAULT_PIPELINE_SETTINGS.syncQueue),
		timeZone: text(f.timeZone),
		leadStore: DEFAULT_PIPELINE_SETTINGS.leadStore,
	};
	if (settings.timeZone && !isTimeZone(settings.timeZone)) {
		throw new SettingsError('Time Zone', `"${settings.timeZone}" is not an IANA time zone (e.g. Asia/Kolkata); leave it empty for n8n's`);
	}
	const store = text(f.leadStore) || DEFAULT_PIPELINE_SETTINGS.leadStore;
	if (!(LEAD_STORES as readonly string[]).includes(store)) throw new SettingsError('Lead Store', `must be one of ${LEAD_STORES.join(', ')}`);
	settings.leadStore = store as LeadStoreKind;
	if (settings.leadStore === 'mongodb') settings.mongo = mongoConnectionFrom(f);
	return settings;
}

function mongoConnectionFrom(f: Record<string, unknown>): MongoConnection {
	const connectionString = text(f.mongoConnectionString);
	if (!/^mongodb(\+srv)?:\/\//.test(connectionString)) {
		throw new SettingsError('MongoDB Connection String', 'must start with mongodb:// or mongodb+srv:// when the lead store is MongoDB');
	}
	return { connectionString, database: text(f.mongoDatabase) || DEFAULT_MONGO_DATABASE };
}

export interface SettingsOverrides {
	namespace?: string;
	leadStore?: LeadStoreKind | '';
}

/** A node's own override (empty = keep the credential's). */
export function withOverrides(settings: PipelineSettings, overrides: SettingsOverrides, credentialFields?: Record<string, unknown>): PipelineSettings {
	const out = { ...settings };
	if (text(overrides.namespace)) out.namespace = name('Namespace', overrides.namespace, settings.namespace);
	if (overrides.leadStore && overrides.leadStore !== settings.leadStore) {
		out.leadStore = overrides.leadStore;
		out.mongo = overrides.leadStore === 'mongodb' ? mongoConnectionFrom(credentialFields ?? {}) : undefined;
	}
	return out;
}

/** The zone to use: the setting, else n8n's. */
export function effectiveTimeZone(settings: PipelineSettings, n8nTimeZone: string): string {
	return settings.timeZone || n8nTimeZone || 'UTC';
}
