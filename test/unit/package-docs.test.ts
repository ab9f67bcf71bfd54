import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

// What a user of the published pack meets: docs links in the node panel (codex files) that land on
// a README heading, a `main` that exists in the tarball, and runtime dependencies that are used.
const ROOT = join(__dirname, '..', '..');
const read = (path: string) => readFileSync(join(ROOT, path), 'utf8');

/** GitHub's heading anchor: lowercase, punctuation dropped, spaces to hyphens. */
function githubAnchor(heading: string): string {
	return heading
		.trim()
		.toLowerCase()
		.replace(/[^\p{L}\p{N}\s_-]/gu, '')
		.replace(/\s/g, '-');
}

function readmeAnchors(): Set<string> {
	const anchors = new Set<string>();
	for (const line of read('README.md').split('\n')) {
		const match = /^#{1,6}\s+(.*)$/.exec(line);
		if (match) anchors.add(githubAnchor(match[1]));
	}
	return anchors;
}

function codexFiles(): string[] {
	return readdirSync(join(ROOT, 'nodes'), { withFileTypes: true })
		.filter((d) => d.isDirectory())
		.flatMap((d) => readdirSync(join(ROOT, 'nodes', d.name)).filter((f) => f.endsWith('.node.json')).map((f) => `nodes/${d.name}/${f}`));
}

describe('package and docs', () => {
	it('every codex documentation link resolves to a README heading', () => {
		const anchors = readmeAnchors();
		const links = codexFiles().flatMap((file) => {
			const codex = JSON.parse(read(file));
			const resources = codex.resources ?? {};
			return [...(resources.primaryDocumentation ?? []), ...(resources.credentialDocumentation ?? [])].map(
				(r: { url: string }) => ({ file, url: r.url }),
			);
		});
		expect(links.length).toBeGreaterThan(0);
		const broken = links.filter(({ url }) => !anchors.has(url.split('#')[1] ?? ''));
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
