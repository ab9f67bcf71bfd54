import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';

// What a user of the published pack meets: docs links in the node panel (codex files) that land on
// a page of docs/ in the repository (and on its heading, when they name one), docs whose relative
// links resolve, a `main` that exists in the tarball, and runtime dependencies that are used.
const ROOT = join(__dirname, '..', '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** Where codex documentation links point: a file of this repository on GitHub, at main. */
const REPO_BLOB = 'https://github.com/lead-pipeline/n8n-nodes-lead-pipeline/blob/main/';

/** GitHub's heading anchor: lowercase, punctuation dropped, spaces to hyphens. */
function githubAnchor(heading: string): string {
	return heading
		.trim()
		.toLowerCase()
		.replace(/[^\p{L}\p{N}\s_-]/gu, '')
		.replace(/\s/g, '-');
}

/** Lines of a markdown file outside fenced code blocks. */
function proseLines(path: string): string[] {
	let fenced = false;
	return read(path)
		.split('\n')
		.filter((line) => {
			if (/^\s*(```|~~~)/.test(line)) {
				fenced = !fenced;
				return false;
			}
			return !fenced;
		});
}

/** The heading anchors of a markdown file, as GitHub makes them (a repeated heading gets -1, -2, …). */
function headingAnchors(path: string): Set<string> {
	const anchors = new Set<string>();
	const seen = new Map<string, number>();
	for (const line of proseLines(path)) {
		const match = /^#{1,6}\s+(.*)$/.exec(line);
		if (!match) continue;
		const anchor = githubAnchor(match[1]);
		const count = seen.get(anchor) ?? 0;
		seen.set(anchor, count + 1);
		anchors.add(count === 0 ? anchor : `${anchor}-${count}`);
	}
	return anchors;
}

/** README.md and every markdown file under docs/, as repository paths. */
function markdownFiles(): string[] {
	const files = ['README.md'];
	const walk = (dir: string) => {
		for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
			const path = `${dir}/${entry.name}`;
			if (entry.isDirectory()) walk(path);
			else if (path.endsWith('.md')) files.push(path);
		}
	};
	walk('docs');
	return files;
}

function codexFiles(): string[] {
	return readdirSync(join(ROOT, 'nodes'), { withFileTypes: true })
		.filter((d) => d.isDirectory())
		.flatMap((d) => readdirSync(join(ROOT, 'nodes', d.name)).filter((f) => f.endsWith('.node.json')).map((f) => `nodes/${d.name}/${f}`));
}

describe('package and docs', () => {
	it('every codex documentation link resolves to a docs page in the repository, and to its heading', () => {
		const links = codexFiles().flatMap((file) => {
			const codex = JSON.parse(read(file));
			const resources = codex.resources ?? {};
			return [...(resources.primaryDocumentation ?? []), ...(resources.credentialDocumentation ?? [])].map(
				(r: { url: string }) => ({ file, url: r.url }),
			);
		});
		expect(links.length).toBeGreaterThan(0);
		const broken = links.filter(({ url }) => {
			if (!url.startsWith(REPO_BLOB)) return true;
			const [path, anchor] = url.slice(REPO_BLOB.length).split('#');
			if (!path.startsWith('docs/') || !path.endsWith('.md') || !existsSync(join(ROOT, path))) return true;
			return anchor !== undefined && !headingAnchors(path).has(anchor);
		});
		expect(broken).toEqual([]);
	});

	it('every relative link in README.md and docs/ points at an existing file (and heading)', () => {
		const broken: string[] = [];
		for (const file of markdownFiles()) {
			const dir = posix.dirname(file);
			for (const line of proseLines(file)) {
				for (const match of line.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) {
					const target = match[1];
					if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, …
					const [pathPart, anchor] = target.split('#');
					const path = pathPart === '' ? file : posix.normalize(posix.join(dir, pathPart));
					if (path.startsWith('..') || !existsSync(join(ROOT, path))) {
						broken.push(`${file}: ${target}`);
						continue;
					}
					if (anchor !== undefined && path.endsWith('.md') && !headingAnchors(path).has(anchor)) {
						broken.push(`${file}: ${target} (no such heading)`);
					}
				}
			}
		}
		expect(broken).toEqual([]);
	});

	it('README headings are on lines of their own (no heading runs into the next section)', () => {
		const glued = read('README.md').split('\n').filter((line) => /^#{1,6} .*\S#{2,6} /.test(line));
		expect(glued).toEqual([]);
	});

	it('package.json main, when set, is a file the tarball ships', () => {
		const pkg = JSON.parse(read('package.json'));
		if (pkg.main === undefined) return;
		expect(pkg.files.some((f: string) => pkg.main.startsWith(f))).toBe(true);
	});

	it('every runtime dependency is imported by shipped code', () => {
		const pkg = JSON.parse(read('package.json'));
		const sources: string[] = [];
		const walk = (dir: string) => {
			for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
				const path = `${dir}/${entry.name}`;
				if (entry.isDirectory()) walk(path);
				else if (path.endsWith('.ts')) sources.push(read(path));
			}
		};
		walk('nodes');
		walk('credentials');
		const all = sources.join('\n');
		const unused = Object.keys(pkg.dependencies ?? {}).filter(
			(dep) => !new RegExp(`from '${dep.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(/[^']*)?'`).test(all),
		);
		expect(unused).toEqual([]);
	});

	it('has a CHANGELOG with an entry for the current version', () => {
		const pkg = JSON.parse(read('package.json'));
		expect(existsSync(join(ROOT, 'CHANGELOG.md'))).toBe(true);
		expect(read('CHANGELOG.md')).toContain(`## ${pkg.version}`);
	});
});
