import { createHash } from 'node:crypto';

import type Redis from 'ioredis';

import type { FieldError, Lead } from '../lead';
import type { TrimOptions } from '../streams';
import { enqueueLeads } from './queue';

export type ImportState = 'pending' | 'processing' | 'completed' | 'failed';

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
	errors: Array<{ index: number; error: string }>;
	updatedAt: string;
	testRun?: true;
}

const TTL_SECONDS = 3600;
// Editor test runs keep their imports apart (import:test:…), so they never shadow a real one.
const space = (testRun?: boolean) => (testRun ? 'import:test' : 'import');
export const importKey = (importId: string, testRun?: boolean) => `${space(testRun)}:job:${importId}`;
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

export async function getImportStatus(redis: Redis, importId: string, testRun?: boolean): Promise<ImportStatus | null> {
	const raw = await redis.get(importKey(importId, testRun));
	return raw ? (JSON.parse(raw) as ImportStatus) : null;
}

async function save(redis: Redis, status: ImportStatus): Promise<void> {
	status.updatedAt = new Date().toISOString();
	await redis.set(importKey(status.importId, status.testRun), JSON.stringify(status), 'EX', TTL_SECONDS);
}

export interface ImportOptions extends TrimOptions {
	importId: string;
	rows: unknown[];
	batchSize: number;
	stream: string;
	replayWindowSeconds: number;
	/** An editor test run's import (its own keys; its leads should carry testRun too). */
	testRun?: boolean;
	/** Validates and normalizes one row; its message id should be stable per import and row. */
	toLead: (row: unknown, index: number) => { ok: true; value: Lead } | { ok: false; errors: FieldError[] };
}

/**
 * Validates rows one by one and appends the valid ones in batches, keeping progress in Redis
 * (`import:job:{importId}`, 1 h). A bad row never fails the job. Re-posting an import re-runs it
 * safely: rows already queued are recognised by their per-row replay key and counted as
 * duplicates, not queued twice; a completed import is returned as it is. The importId is bound to
 * its rows' hash for the replay window: other rows under it are an ImportConflict, refused before
 * anything is written.
 */
export async function runImport(redis: Redis, o: ImportOptions): Promise<ImportStatus | ImportConflict> {
	const ttl = Math.max(1, Math.floor(o.replayWindowSeconds));
	const bindingKey = importBindingKey(o.importId, o.testRun);
	if (!(await bindContent(redis, bindingKey, importContentHash(o.rows), ttl))) return conflict(o.importId);
	const existing = await getImportStatus(redis, o.importId, o.testRun);
	if (existing?.status === 'completed') return existing;
	const status: ImportStatus = {
		importId: o.importId,
		status: 'pending',
		total: o.rows.length,
		processed: 0,
		successful: 0,
		duplicates: 0,
		failed: 0,
		errors: [],
		updatedAt: '',
		...(o.testRun ? { testRun: true as const } : {}),
	};
	await save(redis, status);
	status.status = 'processing';
	try {
		for (let start = 0; start < o.rows.length; start += o.batchSize) {
			const valid: Lead[] = [];
			o.rows.slice(start, start + o.batchSize).forEach((row, offset) => {
				const result = o.toLead(row, start + offset);
				if (result.ok) valid.push(result.value);
				else {
					status.failed++;
					status.errors.push({ index: start + offset, error: result.errors.map((e) => `${e.field || 'lead'}: ${e.message}`).join('; ') });
				}
			});
			const results = await enqueueLeads(redis, o.stream, valid, o);
			const stored = results.filter((r) => r.stored).length;
			status.successful += stored;
			status.duplicates += results.length - stored;
			// The binding must outlive the row keys just written, or other rows could slip under them.
			await redis.expire(bindingKey, ttl);
			status.processed = Math.min(o.rows.length, start + o.batchSize);
			await save(redis, status);
		}
		status.status = 'completed';
	} catch (error) {
		status.status = 'failed';
		status.errors.push({ index: status.processed, error: `stopped: ${(error as Error).message}` });
	}
	await save(redis, status).catch(() => undefined);
	return status;
}
