import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

// Issue 9 "Shape": XADD, XACK and XTRIM lived in five places with four trim rules. One module
// (nodes/shared/queue/streams/) owns every stream write; everything else calls it.
const ROOT = join(__dirname, '..', '..');
const OWNER = 'nodes/shared/queue/streams/';

function sources(dir: string): string[] {
	return readdirSync(dir).flatMap((name) => {
		const path = join(dir, name);
		if (statSync(path).isDirectory()) return sources(path);
		return path.endsWith('.ts') ? [path] : [];
	});
}

test('stream writes (XADD, XACK, XTRIM, XDEL) appear only in the streams module', () => {
	const offenders = sources(join(ROOT, 'nodes'))
		.map((path) => relative(ROOT, path))
		.filter((path) => !path.startsWith(OWNER))
		.filter((path) => /['"`]X(ADD|ACK|TRIM|DEL)['"`\s]|\.x(add|ack|trim|del)\(/i.test(readFileSync(join(ROOT, path), 'utf8')));
	expect(offenders).toEqual([]);
});
