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

describe('isInternalAddress: IPv6 forms that embed an IPv4 address are judged by that IPv4 address', () => {
	test.each([
		// IPv4-mapped, every spelling
		'::ffff:7f00:1',
		'0:0:0:0:0:ffff:7f00:1',
		'0000:0000:0000:0000:0000:FFFF:0A00:0001',
		'::FFFF:169.254.169.254',
		'::ffff:a9fe:a9fe',
		// IPv4-translated (::ffff:0:a.b.c.d)
		'::ffff:0:127.0.0.1',
		'::ffff:0:a00:1',
		// IPv4-compatible (deprecated ::a.b.c.d)
		'::127.0.0.1',
		'::7f00:1',
		'::10.0.0.1',
		'::a9fe:a9fe',
		// NAT64 well-known prefix 64:ff9b::/96, and the local-use 64:ff9b:1::/48
		'64:ff9b::127.0.0.1',
		'64:ff9b::a9fe:a9fe',
		'64:ff9b::10.1.2.3',
		'64:ff9b:0:0:0:0:c0a8:101',
		'64:ff9b:1::8.8.8.8',
		// 6to4 2002::/16 (IPv4 in bits 16–47)
		'2002:7f00:1::1',
		'2002:a9fe:a9fe::',
		'2002:c0a8:0101:1::1',
		// Teredo 2001::/32: server IPv4 in bits 32–63, client IPv4 inverted in the last 32 bits
		'2001:0:4136:e378:8000:63bf:80ff:fffe', // client 127.0.0.1
		'2001:0:4136:e378:8000:63bf:5601:5601', // client 169.254.169.254
		'2001:0:a00:1:8000:63bf:f7f7:f7f7', // server 10.0.0.1
	])('%s is internal', (ip) => expect(isInternalAddress(ip)).toBe(true));

	test.each([
		'::ffff:808:808',
		'0:0:0:0:0:ffff:808:808',
		'::ffff:0:8.8.8.8',
		'64:ff9b::8.8.8.8',
		'64:ff9b::808:808',
		'2002:808:808::1',
		'2001:0:4136:e378:8000:63bf:f7f7:f7f7', // server 65.54.227.120, client 8.8.8.8
		'2001:db9::1',
		'2001:4860:4860::8888',
		'2606:4700::1111',
	])('%s is public', (ip) => expect(isInternalAddress(ip)).toBe(false));
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
