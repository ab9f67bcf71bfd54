import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/**
 * Addresses an outbound request must not reach unless the user allowed internal targets:
 * loopback, private, link-local (cloud metadata 169.254.169.254 included), carrier-grade NAT,
 * "this network", multicast and reserved ranges. IPv4-mapped IPv6 (::ffff:10.0.0.1) is matched
 * against the IPv4 ranges by BlockList itself.
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

/** True when `address` (an IP literal) is loopback, private, link-local, metadata or reserved. */
export function isInternalAddress(address: string): boolean {
	const family = isIP(address);
	if (family === 0) throw new Error(`"${address}" is not an IP address`);
	return INTERNAL.check(address, family === 4 ? 'ipv4' : 'ipv6');
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
		if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, allowed);
		callback(null, allowed[0].address, allowed[0].family);
	});
};
