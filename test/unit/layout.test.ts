import { readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';

import ts from 'typescript';

// Issue 26 "The house in wings": the repo's layout rules, checked on the import graph.
//  (a) a product file (nodes/**, credentials/**) reaches a wing only through its front door:
//      nodes/shared/<wing> or nodes/shared/<wing>/index, unless it sits inside that wing;
//  (b) nodes/shared/ holds only wing folders, each with an index.ts (nothing loose beside them);
//  (c) nothing under nodes/shared/ imports n8n-workflow or n8n-core (the nodes wrap the core);
//  (d) no import cycle between wings (wanted order, bottom-up: lead, http -> queue -> store,
//      metrics, webhook, whatsapp, intake -> crm);
//  (e) scripts/ and bench/ take nothing from test/ (npm start and the benchmarks are not tests).
// The checker runs on a map of repo-relative path -> source, so each rule is also shown failing
// on a small made-up tree below.

const ROOT = join(__dirname, '..', '..');
const SHARED = 'nodes/shared/';
const CODE = /\.(ts|mts|cts|js|mjs|cjs)$/;

type Rule = 'a' | 'b' | 'c' | 'd' | 'e';
type Files = Map<string, string>;
interface Violation {
	rule: Rule;
	message: string;
}

/** Every module specifier a file names: import/export ... from, import(), require(). */
function specifiersOf(source: string): string[] {
	return ts.preProcessFile(source, true, true).importedFiles.map((f) => f.fileName);
}

/** Every string literal in a file's code (comments excluded): catches paths handed to spawn/join too. */
function stringLiteralsOf(path: string, source: string): string[] {
	const file = ts.createSourceFile(path, source, ts.ScriptTarget.Latest, false);
	const found: string[] = [];
	const visit = (node: ts.Node) => {
		if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node) || ts.isTemplateHead(node)) found.push(node.text);
		node.forEachChild(visit);
	};
	visit(file);
	return found;
}

/** Where a relative specifier points, repo-relative, without extension or a trailing /index. */
function target(from: string, specifier: string): string | undefined {
	if (!specifier.startsWith('./') && !specifier.startsWith('../') && specifier !== '.' && specifier !== '..') return undefined;
	return posix
		.normalize(posix.join(posix.dirname(from), specifier))
		.replace(CODE, '')
		.replace(/\/index$/, '')
		.replace(/\/$/, '');
}

/** The wing a path belongs to (nodes/shared/<wing>/...), if any; a file loose in nodes/shared/ has none. */
function wingOf(path: string): string | undefined {
	if (!path.startsWith(SHARED)) return undefined;
	const [wing, ...rest] = path.slice(SHARED.length).split('/');
	return wing && rest.length > 0 ? wing : undefined;
}

const isProduct = (path: string) => path.startsWith('nodes/') || path.startsWith('credentials/');
const isTooling = (path: string) => path.startsWith('scripts/') || path.startsWith('bench/');
const inTest = (path: string) => path === 'test' || path.startsWith('test/');

/** A cycle through the wing graph starting at `start`, as a list of wings (first = last), if any. */
function cycleFrom(start: string, edges: Map<string, Map<string, string[]>>): string[] | undefined {
	const path: string[] = [];
	const seen = new Set<string>();
	const walk = (wing: string): string[] | undefined => {
		path.push(wing);
		for (const next of [...(edges.get(wing)?.keys() ?? [])].sort()) {
			if (next === start) return [...path, start];
			if (seen.has(next)) continue;
			seen.add(next);
			const found = walk(next);
			if (found) return found;
		}
		path.pop();
		return undefined;
	};
	return walk(start);
}

function checkLayout(files: Files): Violation[] {
	const violations: Violation[] = [];
	const paths = [...files.keys()].sort();

	// (b) Only wing folders, each with its index.ts.
	const wings = new Set<string>();
	for (const path of paths.filter((p) => p.startsWith(SHARED))) {
		const rest = path.slice(SHARED.length);
		if (!rest.includes('/')) violations.push({ rule: 'b', message: `${path} is loose in nodes/shared/ (only wing folders belong there)` });
		else wings.add(rest.split('/')[0]);
	}
	for (const wing of [...wings].sort()) {
		if (!files.has(`${SHARED}${wing}/index.ts`)) violations.push({ rule: 'b', message: `${SHARED}${wing}/ has no index.ts` });
	}

	const edges = new Map<string, Map<string, string[]>>();
	for (const path of paths.filter((p) => CODE.test(p) && !p.endsWith('.d.ts'))) {
		const source = files.get(path) ?? '';
		const ownWing = wingOf(path);
		for (const specifier of specifiersOf(source)) {
			// (c) The shared core has no n8n imports.
			if (ownWing !== undefined && /^n8n-(workflow|core)(\/|$)/.test(specifier)) {
				violations.push({ rule: 'c', message: `${path} imports ${specifier}` });
			}
			const to = target(path, specifier);
			if (to === undefined) continue;
			const toWing = wingOf(`${to}/`);
			// (a) Product files reach another wing only through its front door.
			if (isProduct(path) && to.startsWith(SHARED) && toWing !== ownWing) {
				const frontDoor = toWing !== undefined && to === `${SHARED}${toWing}`;
				if (!frontDoor) violations.push({ rule: 'a', message: `${path} imports '${specifier}' (${to}), not the wing's index` });
			}
			// (d) Edges of the wing graph.
			if (ownWing !== undefined && toWing !== undefined && toWing !== ownWing) {
				const out = edges.get(ownWing) ?? new Map<string, string[]>();
				edges.set(ownWing, out);
				out.set(toWing, [...(out.get(toWing) ?? []), path]);
			}
		}
		// (e) Tooling takes nothing from test/: imports, and paths it spawns or joins. A literal
		// 'test/...' is read from the repo root (as join(ROOT, ...) takes it); './' or '../' from the file.
		if (isTooling(path)) {
			for (const literal of new Set(stringLiteralsOf(path, source))) {
				const rel = target(path, literal);
				if (/^(\.\/)?test\//.test(literal) || (rel !== undefined && inTest(rel))) {
					violations.push({ rule: 'e', message: `${path} names '${literal}' in test/` });
				}
			}
		}
	}

	// (d) Cycles: report each once, from its alphabetically first wing, with the files on each edge.
	const reported = new Set<string>();
	for (const wing of [...edges.keys()].sort()) {
		const cycle = cycleFrom(wing, edges);
		if (!cycle) continue;
		const key = [...new Set(cycle)].sort().join(',');
		if (reported.has(key)) continue;
		reported.add(key);
		const hops = cycle.slice(1).map((to, i) => `${cycle[i]} -> ${to} (${edges.get(cycle[i])?.get(to)?.join(', ')})`);
		violations.push({ rule: 'd', message: `wing cycle ${cycle.join(' -> ')}: ${hops.join('; ')}` });
	}
	return violations;
}

/** The repo's files under the folders the rules speak about (contents of code files only). */
function repoFiles(): Files {
	const files: Files = new Map();
	const walk = (dir: string) => {
		for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
			const path = `${dir}/${entry.name}`;
			if (entry.isDirectory()) walk(path);
			else files.set(path, CODE.test(path) ? readFileSync(join(ROOT, path), 'utf8') : '');
		}
	};
	for (const dir of ['nodes', 'credentials', 'scripts', 'bench']) walk(dir);
	return files;
}

const messages = (violations: Violation[], rule: Rule) => violations.filter((v) => v.rule === rule).map((v) => v.message);

describe('repo layout (wings)', () => {
	const violations = checkLayout(repoFiles());

	it('sees the wings and the product files', () => {
		const files = repoFiles();
		expect([...files.keys()].filter((p) => p.endsWith('/index.ts') && wingOf(p) !== undefined && p.split('/').length === 4).length).toBeGreaterThanOrEqual(9);
		expect([...files.keys()].some((p) => p.startsWith('credentials/'))).toBe(true);
	});

	it('(a) product files reach a wing only through its index', () => {
		expect(messages(violations, 'a')).toEqual([]);
	});

	it('(b) nodes/shared/ holds only wing folders, each with an index.ts', () => {
		expect(messages(violations, 'b')).toEqual([]);
	});

	it('(c) nothing under nodes/shared/ imports n8n-workflow or n8n-core', () => {
		expect(messages(violations, 'c')).toEqual([]);
	});

	it('(d) no import cycle between wings', () => {
		expect(messages(violations, 'd')).toEqual([]);
	});

	it('(e) scripts/ and bench/ take nothing from test/', () => {
		expect(messages(violations, 'e')).toEqual([]);
	});
});

describe('the layout checker fails on a broken made-up tree', () => {
	// A small tree that keeps every rule, then one break per rule.
	const good = (): Files =>
		new Map([
			['nodes/shared/lead/index.ts', "export * from './lead';\n"],
			['nodes/shared/lead/lead.ts', 'export const lead = 1;\n'],
			['nodes/shared/queue/index.ts', "export * from './streams';\n"],
			['nodes/shared/queue/streams/index.ts', "import { lead } from '../../lead';\nexport const streams = lead;\n"],
			['nodes/shared/crm/index.ts', "export * from './sync';\n"],
			['nodes/shared/crm/sync.ts', "import { streams } from '../queue';\nimport { lead } from '../lead/index';\nexport const sync = streams + lead;\n"],
			['nodes/CrmSync/CrmSync.node.ts', "import type { INodeType } from 'n8n-workflow';\nimport { sync } from '../shared/crm';\nexport const n: INodeType | number = sync;\n"],
			['credentials/Redis.credentials.ts', "import { lead } from '../nodes/shared/lead/';\nexport const c = lead;\n"],
			['scripts/sandboxes.mjs', "import { join } from 'node:path';\nexport const r = join(ROOT, 'scripts/ts-register.js'); // not test/support/ts-register.js\n"],
			['bench/routing.ts', "import { sync } from '../nodes/shared/crm';\nexport const b = sync;\n"],
		]);
	const broken = (changes: Record<string, string>): Violation[] => checkLayout(new Map([...good(), ...Object.entries(changes)]));

	it('passes the made-up tree as it is', () => {
		expect(checkLayout(good())).toEqual([]);
	});

	it('(a) fails on a node, a credential or another wing importing a file inside a wing', () => {
		expect(messages(broken({ 'nodes/CrmSync/CrmSync.node.ts': "import { sync } from '../shared/crm/sync';\n" }), 'a')).toEqual([
			"nodes/CrmSync/CrmSync.node.ts imports '../shared/crm/sync' (nodes/shared/crm/sync), not the wing's index",
		]);
		expect(messages(broken({ 'credentials/Redis.credentials.ts': "import type { Lead } from '../nodes/shared/lead/lead';\n" }), 'a')).toHaveLength(1);
		expect(messages(broken({ 'nodes/shared/crm/sync.ts': "export { streams } from '../queue/streams';\n" }), 'a')).toHaveLength(1);
		expect(messages(broken({ 'nodes/CrmSync/CrmSync.node.ts': "const s = require('../shared/queue/streams/index');\n" }), 'a')).toHaveLength(1);
	});

	it('(b) fails on a loose file in nodes/shared/ and on a wing without index.ts', () => {
		expect(messages(broken({ 'nodes/shared/redis.ts': 'export const r = 1;\n' }), 'b')).toEqual([
			'nodes/shared/redis.ts is loose in nodes/shared/ (only wing folders belong there)',
		]);
		expect(messages(broken({ 'nodes/shared/README.md': '' }), 'b')).toHaveLength(1);
		expect(messages(broken({ 'nodes/shared/http/client.ts': 'export const c = 1;\n' }), 'b')).toEqual(['nodes/shared/http/ has no index.ts']);
	});

	it('(c) fails on n8n-workflow or n8n-core under nodes/shared/, type imports included', () => {
		expect(messages(broken({ 'nodes/shared/lead/lead.ts': "import { NodeOperationError } from 'n8n-workflow';\n" }), 'c')).toEqual([
			'nodes/shared/lead/lead.ts imports n8n-workflow',
		]);
		expect(messages(broken({ 'nodes/shared/queue/streams/index.ts': "import type { Logger } from 'n8n-core';\n" }), 'c')).toHaveLength(1);
	});

	it('(d) fails on a cycle between wings, direct or through a third wing', () => {
		expect(messages(broken({ 'nodes/shared/lead/lead.ts': "import { streams } from '../queue';\n" }), 'd')).toEqual([
			'wing cycle lead -> queue -> lead: lead -> queue (nodes/shared/lead/lead.ts); queue -> lead (nodes/shared/queue/streams/index.ts)',
		]);
		// lead -> crm closes two cycles: with crm -> lead, and with crm -> queue -> lead.
		expect(messages(broken({ 'nodes/shared/lead/lead.ts': "import { sync } from '../crm';\n" }), 'd')).toEqual([
			'wing cycle crm -> lead -> crm: crm -> lead (nodes/shared/crm/sync.ts); lead -> crm (nodes/shared/lead/lead.ts)',
			'wing cycle queue -> lead -> crm -> queue: queue -> lead (nodes/shared/queue/streams/index.ts); lead -> crm (nodes/shared/lead/lead.ts); crm -> queue (nodes/shared/crm/sync.ts)',
		]);
		// queue -> lead is already an edge; lead -> crm and crm -> queue close a three-wing cycle.
		expect(messages(broken({ 'nodes/shared/crm/sync.ts': "import { streams } from '../queue';\n", 'nodes/shared/lead/lead.ts': "import { sync } from '../crm';\n" }), 'd')).toEqual([
			'wing cycle crm -> queue -> lead -> crm: crm -> queue (nodes/shared/crm/sync.ts); queue -> lead (nodes/shared/queue/streams/index.ts); lead -> crm (nodes/shared/lead/lead.ts)',
		]);
	});

	it('(e) fails on scripts/ or bench/ importing, requiring or spawning from test/', () => {
		expect(messages(broken({ 'bench/routing.ts': "import { redisUrl } from '../test/support/redis';\n" }), 'e')).toEqual([
			"bench/routing.ts names '../test/support/redis' in test/",
		]);
		expect(messages(broken({ 'scripts/sandboxes.mjs': "spawn(node, ['-r', join(ROOT, 'test/support/ts-register.js')]);\n" }), 'e')).toHaveLength(1);
		expect(messages(broken({ 'scripts/engine-harness/run.ts': "export * from '../../test/engine/workflows/x';\n" }), 'e')).toHaveLength(1);
		expect(messages(broken({ 'bench/x.mjs': "const h = await import(`../test/engine/harness/run-workflow.ts`);\n" }), 'e')).toHaveLength(1);
	});
});
