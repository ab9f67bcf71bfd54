import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// `npm start` / `npm run test:e2e` run the install script as npm's child, which hands it this
// repo's ignore-scripts=true as npm_config_ignore_scripts. Under it, `npm rebuild sqlite3` says
// "rebuilt" and builds nothing (n8n then dies on a missing binding). Run the real sqlite3 step
// with a stub npm that records what it was given.
describe('install-n8n.sh sqlite3 step', () => {
	it('builds with scripts on and none of the caller npm config, even under npm_config_ignore_scripts=true', () => {
		const dir = mkdtempSync(join(tmpdir(), 'install-n8n-test-'));
		const record = join(dir, 'record.txt');
		const stub = join(dir, 'npm');
		writeFileSync(stub, `#!/usr/bin/env bash\n{ echo "ARGS $*"; env | grep -i '^npm_config_' | sed 's/^/ENV /'; } > "${record}"\n`);
		chmodSync(stub, 0o755);
		execFileSync('bash', ['scripts/install-n8n.sh', '--build-sqlite3', dir, '/opt/node24'], {
			env: { ...process.env, PATH: `${dir}:${process.env.PATH}`, npm_config_ignore_scripts: 'true', NPM_CONFIG_IGNORE_SCRIPTS: 'true', npm_config_omit: 'optional' },
			stdio: ['ignore', 'ignore', 'pipe'],
		});
		const lines = readFileSync(record, 'utf8').trim().split('\n');
		const args = lines.find((l) => l.startsWith('ARGS '))!;
		expect(args).toContain('rebuild sqlite3');
		expect(args).toContain('--ignore-scripts=false');
		const env = lines.filter((l) => l.startsWith('ENV ')).map((l) => l.slice(4));
		expect(env).toEqual(['npm_config_nodedir=/opt/node24']);
	});
});
