import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/**
 * Addresses an outbound request must not reach unless the user allowed internal targets:
 * loopback, private, link-local (cloud metadata 169.254.169.254 included), carrier-grade NAT,
 * "this network", multicast and reserved ranges. IPv6 forms that embed an IPv4 address are judged
 * by that address (see embeddedIpv4).
 */
const INTERNAL = new BlockList();
for (const [net, prefix] of [
	['0.0.0.0', 8],
	['10.0.0.0', 8],
	['100.64.0.0', 10],
	['127.0.0.0', 8],
	['169.254.0.0', 16],
	['172.16.0.0', 12],
	['192.0.0.0', 24],
	['192.168.0.0', 16],
	['198.18.0.0', 15],
	['224.0.0.0', 4],
	['240.0.0.0', 4],
] as const) {
	INTERNAL.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
	['::', 128],
	['::1', 128],
	['fc00::', 7],
	['fe80::', 10],
	['ff00::', 8],
] as const) {
	INTERNAL.addSubnet(net, prefix, 'ipv6');
}

/** The eight 16-bit groups of an IPv6 literal (any spelling, a trailing dotted quad included). */
function ipv6Groups(address: string): number[] {
	let text = address.toLowerCase();
	const quad = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
	if (quad) {
		const [a, b, c, d] = quad.slice(1).map(Number);
		text = `${text.slice(0, quad.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
	}
	const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
	const parse = (part: string | undefined) => (part ? part.split(':').map((group) => parseInt(group, 16)) : []);
	const front = parse(head);
	const back = parse(tail);
	return [...front, ...new Array<number>(8 - front.length - back.length).fill(0), ...back];
}

const dotted = (high: number, low: number) => `${high >> 8}.${high & 0xff}.${low >> 8}.${low & 0xff}`;

/**
 * The IPv4 addresses an IPv6 address carries, for the forms that deliver traffic to that IPv4
 * host: IPv4-mapped ::ffff:a.b.c.d, IPv4-translated ::ffff:0:a.b.c.d, IPv4-compatible ::a.b.c.d,
 * NAT64 64:ff9b::a.b.c.d, 6to4 2002:AABB:CCDD::, Teredo 2001:0:<server>:…:<client XOR ffff:ffff>.
 */
function embeddedIpv4(groups: number[]): string[] {
	const [g0, g1, g2, g3, g4, g5, g6, g7] = groups;
	const zeroTo = (n: number) => groups.slice(0, n).every((g) => g === 0);
	if (zeroTo(5) && g5 === 0xffff) return [dotted(g6, g7)];
	if (zeroTo(4) && g4 === 0xffff && g5 === 0) return [dotted(g6, g7)];
	if (zeroTo(6)) return [dotted(g6, g7)];
	if (g0 === 0x64 && g1 === 0xff9b && groups.slice(2, 6).every((g) => g === 0)) return [dotted(g6, g7)];
	if (g0 === 0x2002) return [dotted(g1, g2)];
	if (g0 === 0x2001 && g1 === 0) return [dotted(g2, g3), dotted(g6 ^ 0xffff, g7 ^ 0xffff)];
	return [];
}

/** NAT64 local-use prefix (RFC 8215): translated by the operator's own gateway, so never public. */
const LOCAL_NAT64 = new BlockList();
LOCAL_NAT64.addSubnet('64:ff9b:1::', 48, 'ipv6');

/**
 * True when `address` (an IP literal) is loopback, private, link-local, metadata or reserved, or
 * an IPv6 address that embeds such an IPv4 address (a NAT64 gateway or 6to4/Teredo relay would
 * carry the request to it).
 */
export function isInternalAddress(address: string): boolean {
	const family = isIP(address);
	if (family === 0) throw new Error(`"${address}" is not an IP address`);
	if (family === 4) return INTERNAL.check(address, 'ipv4');
	if (INTERNAL.check(address, 'ipv6') || LOCAL_NAT64.check(address, 'ipv6')) return true;
	return embeddedIpv4(ipv6Groups(bareHost(address).split('%')[0])).some((ipv4) => INTERNAL.check(ipv4, 'ipv4'));
}

/** Raised when the target resolves only to addresses the guard refuses. */
export class BlockedAddressError extends Error {
	readonly code = 'BLOCKED_ADDRESS';
	constructor(
		readonly host: string,
		readonly address: string,
	) {
		super(
			`${host} resolves to ${address}, an internal (loopback, private, link-local or metadata) address; ` +
				'requests to internal addresses are refused unless "Allow Internal Addresses" is on',
		);
		this.name = 'BlockedAddressError';
	}
}

/** Strips the brackets the URL parser keeps around IPv6 hosts. */
export function bareHost(hostname: string): string {
	return hostname.startsWith('[') && hostname.endsWith(']') ? hostname.slice(1, -1) : hostname;
}

/** Refuses an IP-literal host before connecting (net.connect skips `lookup` for literals). */
export function assertLiteralAllowed(hostname: string): void {
	const host = bareHost(hostname);
	if (isIP(host) && isInternalAddress(host)) throw new BlockedAddressError(host, host);
}

/**
 * A `lookup` for net/tls that resolves the name, drops internal addresses and hands the socket
 * only checked addresses. The socket connects to exactly what this returns, so there is no second
 * resolution between the check and the connect (no DNS-rebinding window).
 */
export const guardedLookup: LookupFunction = (hostname, options, callback) => {
	dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
		if (error) return callback(error, '', 0);
		const allowed = addresses.filter((entry) => !isInternalAddress(entry.address));
		if (allowed.length === 0) {
			const first = addresses[0]?.address ?? 'no address';
			return callback(new BlockedAddressError(hostname, first) as NodeJS.ErrnoException, '', 0);
		}
		// LookupFunction types the callback for one address only; with `all` Node expects the array form.
		if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, allowed);
		callback(null, allowed[0].address, allowed[0].family);
	});
};
