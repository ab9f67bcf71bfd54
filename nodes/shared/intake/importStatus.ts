import type Redis from 'ioredis';

/**
 * A bulk import's progress in Redis: a hash of counters (`import:job:{importId}`) and a list of
 * its first row errors (`…:errors`), both kept for an hour.
 */

export type ImportState = 'pending' | 'processing' | 'completed' | 'failed';

export interface ImportError {
	index: number;
	error: string;
}

export interface ImportStatus {
	importId: string;
	status: ImportState;
	total: number;
	processed: number;
	/** Rows queued by this request. */
	successful: number;
	/** Valid rows an earlier post of this same import had already queued (not queued again). */
	duplicates: number;
	failed: number;
	/** The first MAX_STORED_ERRORS row errors; errorCount says how many there were in all. */
	errors: ImportError[];
	errorCount: number;
	updatedAt: string;
	testRun?: true;
}

/** How long a job's progress is kept (s). */
export const IMPORT_TTL_SECONDS = 3600;
export const MAX_STORED_ERRORS = 1000;
export const DEFAULT_MAX_ROWS = 10_000;

// Editor test runs keep their imports apart (import:test:…), so they never shadow a real one.
const space = (testRun?: boolean) => (testRun ? 'import:test' : 'import');
/** The job's counters (a hash, updated field by field: nothing is re-serialized per batch). */
export const importKey = (importId: string, testRun?: boolean) => `${space(testRun)}:job:${importId}`;
/** The job's first row errors (a list, appended per batch). */
export const importErrorsKey = (importId: string, testRun?: boolean) => `${importKey(importId, testRun)}:errors`;
/** Which content an importId was first used with (sha256 of its rows), kept as long as its row replay keys. */
export const importBindingKey = (importId: string, testRun?: boolean) => `${space(testRun)}:content:${importId}`;

export const IMPORT_COUNTERS = ['total', 'processed', 'successful', 'duplicates', 'failed'] as const;

export async function getImportStatus(redis: Redis, importId: string, testRun?: boolean): Promise<ImportStatus | null> {
	const [[, fields], [, errors]] = (await redis
		.multi()
		.hgetall(importKey(importId, testRun))
		.lrange(importErrorsKey(importId, testRun), 0, MAX_STORED_ERRORS - 1)
		.exec()) as [[unknown, Record<string, string>], [unknown, string[]]];
	if (!fields || Object.keys(fields).length === 0) return null;
	const counter = (name: string) => Number(fields[name] ?? 0);
	return {
		importId,
		status: fields.status as ImportState,
		total: counter('total'),
		processed: counter('processed'),
		successful: counter('successful'),
		duplicates: counter('duplicates'),
		failed: counter('failed'),
		errors: errors.map((e) => JSON.parse(e) as ImportError),
		errorCount: counter('failed') + counter('stopped'),
		updatedAt: fields.updatedAt,
		...(testRun ? { testRun: true as const } : {}),
	};
}
