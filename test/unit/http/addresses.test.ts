import { guardedLookup, isInternalAddress } from '../../../nodes/shared/http';

describe('isInternalAddress', () => {
	test.each([
		'127.0.0.1',
		'127.8.9.10',
		'10.0.0.1',
		'10.255.255.255',
		'172.16.0.1',
		'172.31.255.255',
		'192.168.1.1',
		'169.254.169.254',
		'169.254.0.1',
		'0.0.0.0',
		'100.64.0.1',
		'::1',
		'::',
		'fc00::1',
		'fd12:3456::1',
		'fe80::1',
		'::ffff:127.0.0.1',
		'::ffff:10.1.2.3',
		'::ffff:169.254.169.254',
	])('%s is internal', (ip) => expect(isInternalAddress(ip)).toBe(true));

	test.each(['8.8.8.8', '1.1.1.1', '172.15.255.255', '172.32.0.1', '192.169.0.1', '2606:4700::1111', '::ffff:8.8.8.8'])(
		'%s is public',
		(ip) => expect(isInternalAddress(ip)).toBe(false),
	);
});

describe('guardedLookup', () => {
	const lookup = (host: string, all: boolean) =>
		new Promise<{ error: NodeJS.ErrnoException | null; result: unknown }>((resolve) =>
			guardedLookup(host, { all }, (error: NodeJS.ErrnoException | null, result: unknown) => resolve({ error, result })),
		);

	test('a name resolving only to loopback is refused, in single and all mode', async () => {
		for (const all of [false, true]) {
			const { error } = await lookup('localhost', all);
			expect(error).toMatchObject({ code: 'BLOCKED_ADDRESS' });
			expect(error?.message).toMatch(/localhost resolves to (127\.0\.0\.1|::1)/);
		}
	});
});
