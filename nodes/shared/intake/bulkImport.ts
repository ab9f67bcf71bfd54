import { createHash } from 'node:crypto';

import type Redis from 'ioredis';

import type { FieldError, Lead } from '../lead';
import type { TrimOptions } from '../queue';
import { enqueueLeads } from './queue';

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

const TTL_SECONDS = 3600;
export const MAX_STORED_ERRORS = 1000;
export const DEFAULT_MAX_ROWS = 10_000;

// Editor test runs keep their imports apart (import:test:…), so they never shadow a real one.
const space = (testRun?: boolean) => (testRun ? 'import:test' : 'import');
/** The job's counters (a hash, updated field by field: nothing is re-serialized per batch). */
export const importKey = (importId: string, testRun?: boolean) => `${space(testRun)}:job:${importId}`;
/** The job's first row errors (a list, appended per batch). */
const errorsKey = (importId: string, testRun?: boolean) => `${importKey(importId, testRun)}:errors`;
/** Which content an importId was first used with (sha256 of its rows), kept as long as its row replay keys. */
export const importBindingKey = (importId: string, testRun?: boolean) => `${space(testRun)}:content:${importId}`;

/** An importId already used for different rows: its row replay keys would hide the new rows. */
export interface ImportConflict {
	conflict: true;
	error: string;
}

const conflict = (importId: string): ImportConflict => ({
	conflict: true,
	error:
		`importId "${importId}" was already used for a different list of leads; nothing was queued. ` +
		'Send each import (and each chunk of a large one) under a new importId',
});

export function importContentHash(rows: unknown[]): string {
	return createHash('sha256').update(JSON.stringify(rows)).digest('hex');
}

/** Binds the importId to this content; false if it is bound to other content. */
async function bindContent(redis: Redis, key: string, hash: string, ttlSeconds: number): Promise<boolean> {
	const bound = await redis.set(key, hash, 'EX', ttlSeconds, 'NX');
	return bound === 'OK' || (await redis.get(key)) === hash;
}

const COUNTERS = ['total', 'processed', 'successful', 'duplicates', 'failed'] as const;

export async function getImportStatus(redis: Redis, importId: string, testRun?: boolean): Promise<ImportStatus | null> {
	const [[, fields], [, errors]] = (await redis
		.multi()
		.hgetall(importKey(importId, testRun))
		.lrange(errorsKey(importId, testRun), 0, MAX_STORED_ERRORS - 1)
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

export interface ImportOptions extends TrimOptions {
	importId: string;
	rows: unknown[];
	batchSize: number;
	stream: string;
	replayWindowSeconds: number;
	/** An editor test run's import (its own keys; its leads should carry testRun too). */
	testRun?: boolean;
	/** Validates and normalizes one row; its replay key should be stable per import and row. */
	toLead: (row: unknown, index: number) => { ok: true; value: Lead } | { ok: false; errors: FieldError[] };
	/** Told each batch's newly queued leads (the trigger counts them); must not throw. */
	onQueued?: (leads: Lead[]) => void;
}

/** One row's errors as text, naming fields and rules only — never the submitted value (personal data). */
const rowError = (errors: FieldError[]) => errors.map((e) => `${e.field || 'lead'}: ${e.message}`).join('; ');

/**
 * Validates rows one by one and appends the valid ones in batches, keeping progress in Redis
 * (`import:job:{importId}` hash + `…:errors` list, 1 h). A bad row never fails the job. Progress
 * is written per batch with HINCRBY / RPUSH (the first MAX_STORED_ERRORS errors only), so a large
 * import costs O(rows), never a re-serialized status. Re-posting an import re-runs it safely:
 * rows already queued are recognised by their per-row replay key and counted as duplicates, not
 * queued twice; a completed import is returned as it is. The importId is bound to its rows' hash
 * for the replay window: other rows under it are an ImportConflict, refused before anything is
 * written.
 */
export async function runImport(redis: Redis, o: ImportOptions): Promise<ImportStatus | ImportConflict> {
	const ttl = Math.max(1, Math.floor(o.replayWindowSeconds));
	const bindingKey = importBindingKey(o.importId, o.testRun);
	if (!(await bindContent(redis, bindingKey, importContentHash(o.rows), ttl))) return conflict(o.importId);
	const existing = await getImportStatus(redis, o.importId, o.testRun);
	if (existing?.status === 'completed') return existing;

	const job = importKey(o.importId, o.testRun);
	const errors = errorsKey(o.importId, o.testRun);
	const now = () => new Date().toISOString();
	await redis
		.multi()
		.del(job, errors)
		.hset(job, { status: 'processing', updatedAt: now(), ...Object.fromEntries(COUNTERS.map((c) => [c, 0])), total: o.rows.length })
		.expire(job, TTL_SECONDS)
		.exec();
	let storedErrors = 0;
	let processed = 0;
	let queued = 0;
	try {
		for (let start = 0; start < o.rows.length; start += o.batchSize) {
			const valid: Lead[] = [];
			const batchErrors: string[] = [];
			let failed = 0;
			o.rows.slice(start, start + o.batchSize).forEach((row, offset) => {
				const result = o.toLead(row, start + offset);
				if (result.ok) valid.push(result.value);
				else {
					failed++;
					if (storedErrors + batchErrors.length < MAX_STORED_ERRORS) {
						batchErrors.push(JSON.stringify({ index: start + offset, error: rowError(result.errors) }));
					}
				}
			});
			const results = await enqueueLeads(redis, o.stream, valid, o);
			const stored = results.filter((r) => r.stored).length;
			o.onQueued?.(valid.filter((_, i) => results[i].stored));
			queued += stored;
			processed = Math.min(o.rows.length, start + o.batchSize);
			const progress = redis
				.multi()
				.hincrby(job, 'successful', stored)
				.hincrby(job, 'duplicates', results.length - stored)
				.hincrby(job, 'failed', failed)
				.hset(job, { processed, updatedAt: now() });
			if (batchErrors.length) progress.rpush(errors, ...batchErrors).expire(errors, TTL_SECONDS);
			// The binding must outlive the row keys just written, or other rows could slip under them.
			await progress.expire(bindingKey, ttl).exec();
			storedErrors += batchErrors.length;
		}
		await redis.hset(job, { status: 'completed', updatedAt: now() });
	} catch (error) {
		const stop = JSON.stringify({ index: processed, error: `stopped: ${(error as Error).message}` });
		await redis
			.multi()
			.hset(job, { status: 'failed', updatedAt: now() })
			.hincrby(job, 'stopped', 1)
			.rpush(errors, stop)
			.expire(errors, TTL_SECONDS)
			.exec()
			.catch(() => undefined);
		const status = await getImportStatus(redis, o.importId, o.testRun).catch(() => null);
		return (
			status ?? {
				importId: o.importId,
				status: 'failed',
				total: o.rows.length,
				processed,
				successful: queued,
				duplicates: 0,
				failed: 0,
				errors: [JSON.parse(stop) as ImportError],
				errorCount: 1,
				updatedAt: now(),
			}
		);
	}
	const final = await getImportStatus(redis, o.importId, o.testRun);
	if (!final) throw new Error(`The status of import ${o.importId} vanished while it ran (was the key deleted?)`);
	return final;
}
