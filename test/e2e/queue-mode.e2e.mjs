// n8n queue mode (EXECUTIONS_MODE=queue, PostgreSQL, Bull on Redis): main + 2 workers, the pack's
// Redis Stream Consumer Trigger on main, executions on the workers. Proves: every execution ran on
// a worker; an entry is acknowledged only after its execution succeeded (checked continuously:
// nothing acked is missing from the output); a worker SIGKILLed mid-execution leaves its entries
// pending and they are processed again; at the end every input is in the output, duplicates only
// from the killed batches, nothing pending, nothing dead-lettered. Prints the figures it saw.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';

import Redis from 'ioredis';

import { queueModeWorkflow } from './support/queue-mode-workflow.mjs';
import { compareIds, lastDeliveredId, pendingIds, streamMessages, workerExecutions } from './support/stream-state.mjs';
import { redisCredential } from '../../scripts/local-credentials.mjs';
import { packThePack, QueueModeCluster, ROOT } from '../../scripts/n8n-rig.mjs';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
// Databases of their own: the streams here, n8n's Bull queue there (each run also uses fresh keys).
const STREAM_DB = Number(process.env.QUEUE_E2E_REDIS_DB ?? 11);
const BULL_DB = Number(process.env.QUEUE_E2E_BULL_DB ?? 10);
const ARTIFACTS = join(ROOT, 'test-artifacts/queue-mode');
const LEADS = Number(process.env.QUEUE_E2E_LEADS ?? 500);
const WORKERS = 2;
const WORKER_CONCURRENCY = 5;
const BATCH = 10;
const CLAIM_TIMEOUT_MS = 3000;
const run = randomBytes(4).toString('hex');
const names = { stream: `qm-${run}:in`, group: 'qm-processor', output: `qm-${run}:out`, dlq: `qm-${run}:dlq` };
const workflow = queueModeWorkflow({
	id: 'LpQueueModeE2e01',
	...names,
	batchSize: BATCH,
	// Parallel executions cover every worker slot, or the workers idle while Bull round-trips.
	concurrency: WORKERS * WORKER_CONCURRENCY,
	waitSeconds: 1,
	claimTimeoutMs: CLAIM_TIMEOUT_MS,
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
let cluster;
let redis;

before(async () => {
	cluster = await QueueModeCluster.create({
		workers: WORKERS,
		workerConcurrency: WORKER_CONCURRENCY,
		redisUrl: REDIS_URL,
		bullDb: BULL_DB,
		env: {
			// The output records which process ran each execution ($env.N8N_RIG_PROCESS_NAME).
			N8N_BLOCK_ENV_ACCESS_IN_NODE: 'false',
			// A dead worker's job is declared stalled after its lock lapses (default 60 s) and a
			// stall check runs (default every 30 s); shorter here to keep the test bounded.
			QUEUE_WORKER_LOCK_DURATION: '10000',
			QUEUE_WORKER_LOCK_RENEW_TIME: '2500',
			QUEUE_WORKER_STALLED_INTERVAL: '5000',
		},
	});
	cluster.installPack(packThePack(mkdtempSync(join(tmpdir(), 'lead-pipeline-pack-'))));
	cluster.main.importCredentials([redisCredential(REDIS_URL, STREAM_DB)]);
	const file = join(cluster.main.userFolder, 'queue-mode-workflow.json');
	writeFileSync(file, JSON.stringify(workflow));
	cluster.main.importWorkflow(file);
	cluster.main.publishWorkflow(workflow.id);
	await cluster.start();
	// Connected after the synchronous setup above, which would starve its connect timer.
	redis = new Redis(REDIS_URL, { db: STREAM_DB });
	redis.on('error', (error) => process.stderr.write(`[queue-mode] Redis client: ${error.message} (retrying)\n`));
});

after(async () => {
	// The processes' logs are kept next to the editor screenshots, for a person to read.
	if (cluster) {
		mkdirSync(ARTIFACTS, { recursive: true });
		for (const instance of [cluster.main, ...cluster.workers]) {
			writeFileSync(join(ARTIFACTS, `${instance.name ?? 'main'}.log`), instance.logs);
		}
	}
	if (cluster && redis) {
		const output = await streamMessages(redis, names.output).catch(() => []);
		writeFileSync(join(ARTIFACTS, 'output.jsonl'), output.map((m) => JSON.stringify(m)).join('\n'));
	}
	await cluster?.stop();
	if (redis) {
		await redis.del(names.stream, names.output, names.dlq);
		redis.disconnect();
	}
});

/**
 * Stream entry ids per execution, from the stored execution data (the trigger's items). Read at
 * kill time: n8n later replaces a crashed execution's data with the error.
 */
function entryIdsByExecution(inputIds) {
	const rows = cluster.sql(
		`SELECT d."executionId" || '|' || d.data FROM execution_data d JOIN execution_entity e ON e.id = d."executionId" WHERE e."workflowId" = '${workflow.id}'`,
	);
	const byExecution = new Map();
	for (const row of rows.split('\n').filter(Boolean)) {
		const executionId = row.slice(0, row.indexOf('|'));
		byExecution.set(executionId, new Set([...row.matchAll(/\d{13}-\d+/g)].map((m) => m[0]).filter((id) => inputIds.has(id))));
	}
	return byExecution;
}

/** Union of the entries of these executions. */
function entriesOf(byExecution, executionIds) {
	return new Set(executionIds.flatMap((id) => [...(byExecution.get(id) ?? [])]));
}

test(`queue mode, main + ${WORKERS} workers: executions on workers, ack after success, a killed worker's batch retried, nothing lost`, { timeout: 300_000 }, async () => {
	const pipeline = redis.pipeline();
	for (let i = 0; i < LEADS; i++) pipeline.xadd(names.stream, '*', 'message', JSON.stringify({ traceId: `qm-${run}-${i}` }));
	const inputIds = (await pipeline.exec()).map(([error, id]) => {
		assert.equal(error, null);
		return id;
	});
	const inputIdSet = new Set(inputIds);
	const traceOf = new Map(inputIds.map((id, i) => [id, `qm-${run}-${i}`]));
	const startedAt = Date.now();
	const [victim] = cluster.workers;
	let kill;
	let ackChecks = 0;
	let output = [];

	for (;;) {
		// Ack only after success: everything the group delivered and no longer holds pending must
		// already be in the output (read last, so it is at least as new as the pending list).
		const delivered = await lastDeliveredId(redis, names.stream, names.group);
		const pending = await pendingIds(redis, names.stream, names.group);
		output = await streamMessages(redis, names.output);
		const outputIds = new Set(output.map((m) => m.entryId));
		const ackedWithoutOutput = inputIds.filter((id) => compareIds(id, delivered) <= 0 && !pending.has(id) && !outputIds.has(id));
		assert.deepEqual(ackedWithoutOutput.slice(0, 5), [], `${ackedWithoutOutput.length} entries acknowledged with no output written`);
		ackChecks++;

		if (!kill) {
			const seen = workerExecutions(victim.logs);
			// Kill once the run is in its steady state, while the victim holds executions in flight.
			if (output.length >= LEADS / 4 && seen.finished.size >= 3 && [...seen.started].some((id) => !seen.finished.has(id))) {
				const at = Date.now();
				await victim.kill();
				const after = workerExecutions(victim.logs);
				const executions = [...after.started].filter((id) => !after.finished.has(id));
				const entriesByExecution = entryIdsByExecution(inputIdSet);
				const entries = entriesOf(entriesByExecution, executions);
				const pendingNow = await pendingIds(redis, names.stream, names.group);
				const outputNow = new Set((await streamMessages(redis, names.output)).map((m) => m.entryId));
				kill = { at, executions, entries, entriesByExecution, pendingAfterKill: [...entries].filter((id) => pendingNow.has(id)).length, inOutputAtKill: [...entries].filter((id) => outputNow.has(id)).length };
				process.stderr.write(`[queue-mode] SIGKILLed ${victim.name} at ${at - startedAt} ms; its log shows executions ${executions.join(', ')} in flight (${entries.size} entries)\n`);
				assert.ok(entries.size > 0, 'found no entries of the killed executions in PostgreSQL');
				assert.equal(kill.pendingAfterKill, entries.size, 'entries of the killed executions were acknowledged');
			}
		}

		if (kill && kill.failedAfterMs === undefined) {
			// n8n's own word that the dead worker's jobs are lost (Bull stall check on a live worker).
			const failed = kill.executions.filter((id) => cluster.main.logs.includes(`job stalled more than maxStalledCount (execution ${id})`));
			if (failed.length === kill.executions.length) kill.failedAfterMs = Date.now() - kill.at;
		}
		if (kill && kill.redoneAfterMs === undefined) {
			const redone = new Set(output.filter((m) => kill.entries.has(m.entryId) && m.deliveryCount >= 2).map((m) => m.entryId));
			if (redone.size === kill.entries.size) kill.redoneAfterMs = Date.now() - kill.at;
		}
		const unique = new Set(output.map((m) => m.traceId));
		if (kill && unique.size === LEADS && pending.size === 0) break;
		if (Date.now() - startedAt > 240_000) {
			const stuck = [...pending].slice(0, 10);
			assert.fail(`not done after 240 s: ${unique.size}/${LEADS} in the output, ${pending.size} pending (${stuck.join(', ')}), killed: ${JSON.stringify(kill && { ...kill, entries: kill.entries.size })}\n${cluster.main.logs.slice(-4000)}`);
		}
		await sleep(250);
	}
	const elapsedMs = Date.now() - startedAt;

	// Every execution ran on a worker, by the output's stamp and by the workers' own logs.
	const byProcess = {};
	for (const m of output) byProcess[m.processedBy] = (byProcess[m.processedBy] ?? 0) + 1;
	assert.deepEqual(Object.keys(byProcess).filter((name) => !name.startsWith('worker-')), [], `executions outside the workers: ${JSON.stringify(byProcess)}`);
	const workerLogs = cluster.workers.map((w) => ({ name: w.name, ...workerExecutions(w.logs) }));
	const executionIds = new Set(output.map((m) => String(m.executionId)));
	const unlogged = [...executionIds].filter((id) => !workerLogs.some((w) => w.started.has(id)));
	assert.deepEqual(unlogged, [], 'executions no worker log shows');
	assert.doesNotMatch(cluster.main.logs, /Worker started execution/);

	// The killed batches: every execution whose Bull job n8n declared stalled. That is more than the
	// victim's log showed when it died: jobs it had taken but not yet logged died with it, and a job
	// whose execution had finished (output written, stored as success) but whose completion had not
	// reached Bull is reported to main as failed all the same, so its entries are redelivered.
	const failedExecutions = [...new Set([...cluster.main.logs.matchAll(/job stalled more than maxStalledCount \(execution (\d+)\)/g)].map((m) => m[1]))];
	assert.deepEqual(kill.executions.filter((id) => !failedExecutions.includes(id)), [], 'an execution in flight on the killed worker was not reported as failed');
	const storedStatus = Object.fromEntries(
		cluster
			.sql(`SELECT id, status FROM execution_entity WHERE id IN (${failedExecutions.map(Number).join(',')})`)
			.split('\n')
			.filter(Boolean)
			.map((line) => line.split('|')),
	);
	const killedEntries = entriesOf(kill.entriesByExecution, failedExecutions);
	const killedTraces = new Set([...killedEntries].map((id) => traceOf.get(id)));
	const retried = output.filter((m) => killedEntries.has(m.entryId) && m.deliveryCount >= 2);
	assert.equal(new Set(retried.map((m) => m.entryId)).size, killedEntries.size, 'every entry of the killed executions was delivered again');
	const counts = new Map();
	for (const m of output) counts.set(m.traceId, (counts.get(m.traceId) ?? 0) + 1);
	const duplicates = [...counts].filter(([, n]) => n > 1).map(([traceId]) => traceId);
	assert.deepEqual(duplicates.filter((t) => !killedTraces.has(t)), [], 'processed twice outside the killed batches');
	const redeliveredElsewhere = output.filter((m) => m.deliveryCount >= 2 && !killedEntries.has(m.entryId)).length;
	assert.equal(redeliveredElsewhere, 0, 'entries delivered twice outside the killed batches');

	assert.equal(Number((await redis.xpending(names.stream, names.group))[0]), 0);
	assert.equal(await redis.xlen(names.dlq), 0, 'dead-lettered entries');

	const statuses = Object.fromEntries(
		cluster
			.sql(`SELECT status, count(*) FROM execution_entity WHERE "workflowId" = '${workflow.id}' GROUP BY status ORDER BY status`)
			.split('\n')
			.filter(Boolean)
			.map((line) => line.split('|')),
	);
	const figures = {
		leads: LEADS,
		batch: BATCH,
		parallelExecutions: WORKERS * WORKER_CONCURRENCY,
		elapsedMs,
		leadsPerSecond: Math.round((LEADS / elapsedMs) * 1000),
		executions: executionIds.size,
		executionsPerWorker: Object.fromEntries(workerLogs.map((w) => [w.name, w.finished.size])),
		outputPerProcess: byProcess,
		inFlightInVictimLog: kill.executions,
		killedExecutions: failedExecutions,
		killedExecutionsStoredStatus: storedStatus,
		killedEntries: killedEntries.size,
		killedEntriesInOutputBeforeKill: kill.inOutputAtKill,
		killToJobsFailedMs: kill.failedAfterMs,
		killToRedoneMs: kill.redoneAfterMs,
		duplicateTraceIds: duplicates.length,
		redeliveredOutsideKilled: redeliveredElsewhere,
		executionStatuses: statuses,
		ackChecks,
	};
	process.stderr.write(`[queue-mode] ${JSON.stringify(figures)}\n`);
});
