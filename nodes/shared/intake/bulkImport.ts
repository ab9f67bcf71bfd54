import { createHash } from 'node:crypto';

import type Redis from 'ioredis';

import type { FieldError, Lead } from '../lead';
import type { TrimOptions } from '../queue';
import { IMPORT_COUNTERS, importErrorsKey, getImportStatus, importBindingKey, importKey, MAX_STORED_ERRORS, IMPORT_TTL_SECONDS, type ImportError, type ImportStatus } from './importStatus';
import { enqueueLeads } from './queue';

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

interface JobKeys {
	job: string;
	errors: string;
	binding: string;
}

/** What the batches so far did (the failure answer reports it when Redis stops the import). */
interface Progress {
	storedErrors: number;
	processed: number;
	queued: number;
}

const now = () => new Date().toISOString();

/** Starts the job afresh: counters at 0, status processing, earlier errors gone. */
async function startJob(redis: Redis, keys: JobKeys, total: number): Promise<void> {
	await redis
		.multi()
		.del(keys.job, keys.errors)
		.hset(keys.job, { status: 'processing', updatedAt: now(), ...Object.fromEntries(IMPORT_COUNTERS.map((c) => [c, 0])), total })
		.expire(keys.job, IMPORT_TTL_SECONDS)
		.exec();
}

/** One batch's rows as leads; the errors kept stop at MAX_STORED_ERRORS over the whole job. */
function validateBatch(o: ImportOptions, start: number, storedErrors: number): { valid: Lead[]; failed: number; batchErrors: string[] } {
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
	return { valid, failed, batchErrors };
}

/** Validates and queues the batch starting at `start`, then counts it in one round trip. */
async function importBatch(redis: Redis, o: ImportOptions, keys: JobKeys, ttl: number, start: number, progress: Progress): Promise<void> {
	const { valid, failed, batchErrors } = validateBatch(o, start, progress.storedErrors);
	const results = await enqueueLeads(redis, o.stream, valid, o);
	const stored = results.filter((r) => r.stored).length;
	o.onQueued?.(valid.filter((_, i) => results[i].stored));
	progress.queued += stored;
	progress.processed = Math.min(o.rows.length, start + o.batchSize);
	const write = redis
		.multi()
		.hincrby(keys.job, 'successful', stored)
		.hincrby(keys.job, 'duplicates', results.length - stored)
		.hincrby(keys.job, 'failed', failed)
		.hset(keys.job, { processed: progress.processed, updatedAt: now() });
	if (batchErrors.length) write.rpush(keys.errors, ...batchErrors).expire(keys.errors, IMPORT_TTL_SECONDS);
	// The binding must outlive the row keys just written, or other rows could slip under them.
	await write.expire(keys.binding, ttl).exec();
	progress.storedErrors += batchErrors.length;
}

/** Marks the job failed where it stopped (best effort: Redis may be what failed) and reports it. */
async function failJob(redis: Redis, o: ImportOptions, keys: JobKeys, progress: Progress, error: unknown): Promise<ImportStatus> {
	const stop = JSON.stringify({ index: progress.processed, error: `stopped: ${(error as Error).message}` });
	await redis
		.multi()
		.hset(keys.job, { status: 'failed', updatedAt: now() })
		.hincrby(keys.job, 'stopped', 1)
		.rpush(keys.errors, stop)
		.expire(keys.errors, IMPORT_TTL_SECONDS)
		.exec()
		.catch(() => undefined);
	const status = await getImportStatus(redis, o.importId, o.testRun).catch(() => null);
	return (
		status ?? {
			importId: o.importId,
			status: 'failed',
			total: o.rows.length,
			processed: progress.processed,
			successful: progress.queued,
			duplicates: 0,
			failed: 0,
			errors: [JSON.parse(stop) as ImportError],
			errorCount: 1,
			updatedAt: now(),
		}
	);
}

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
	const keys: JobKeys = { job: importKey(o.importId, o.testRun), errors: importErrorsKey(o.importId, o.testRun), binding: importBindingKey(o.importId, o.testRun) };
	if (!(await bindContent(redis, keys.binding, importContentHash(o.rows), ttl))) return conflict(o.importId);
	const existing = await getImportStatus(redis, o.importId, o.testRun);
	if (existing?.status === 'completed') return existing;

	await startJob(redis, keys, o.rows.length);
	const progress: Progress = { storedErrors: 0, processed: 0, queued: 0 };
	try {
		for (let start = 0; start < o.rows.length; start += o.batchSize) await importBatch(redis, o, keys, ttl, start, progress);
		await redis.hset(keys.job, { status: 'completed', updatedAt: now() });
	} catch (error) {
		return await failJob(redis, o, keys, progress, error);
	}
	const final = await getImportStatus(redis, o.importId, o.testRun);
	if (!final) throw new Error(`The status of import ${o.importId} vanished while it ran (was the key deleted?)`);
	return final;
}
