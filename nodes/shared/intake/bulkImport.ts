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
	successful: number;
	failed: number;
	errors: Array<{ index: number; error: string }>;
	updatedAt: string;
}

const TTL_SECONDS = 3600;
export const importKey = (importId: string) => `import:job:${importId}`;

export async function getImportStatus(redis: Redis, importId: string): Promise<ImportStatus | null> {
	const raw = await redis.get(importKey(importId));
	return raw ? (JSON.parse(raw) as ImportStatus) : null;
}

async function save(redis: Redis, status: ImportStatus): Promise<void> {
	status.updatedAt = new Date().toISOString();
	await redis.set(importKey(status.importId), JSON.stringify(status), 'EX', TTL_SECONDS);
}

export interface ImportOptions extends TrimOptions {
	importId: string;
	rows: unknown[];
	batchSize: number;
	stream: string;
	replayWindowSeconds: number;
	/** Validates and normalizes one row; its message id should be stable per import and row. */
	toLead: (row: unknown, index: number) => { ok: true; value: Lead } | { ok: false; errors: FieldError[] };
}

/**
 * Validates rows one by one and appends the valid ones in batches, keeping progress in Redis
 * (`import:job:{importId}`, 1 h). A bad row never fails the job. Re-posting an import re-runs it
 * safely: rows already queued are recognised by their per-row message id and not added twice;
 * a completed import is returned as it is.
 */
export async function runImport(redis: Redis, o: ImportOptions): Promise<ImportStatus> {
	const existing = await getImportStatus(redis, o.importId);
	if (existing?.status === 'completed') return existing;
	const status: ImportStatus = {
		importId: o.importId,
		status: 'pending',
		total: o.rows.length,
		processed: 0,
		successful: 0,
		failed: 0,
		errors: [],
		updatedAt: '',
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
			await enqueueLeads(redis, o.stream, valid, o);
			status.successful += valid.length;
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
