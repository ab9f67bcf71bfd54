import { createServer, type Server } from 'node:net';

/**
 * A loopback stand-in for a Redis server older than 6.2, for the one thing real Redis here cannot
 * show: what the credential Test says when INFO reports an old version. It speaks just enough RESP2
 * for a client to connect (INFO for ioredis's ready check, CLIENT SETNAME, PING, QUIT).
 */
export async function startOldRedis(version: string): Promise<{ port: number; close(): Promise<void> }> {
	const info = `# Server\r\nredis_version:${version}\r\nredis_mode:standalone\r\nloading:0\r\n`;
	const bulk = (text: string) => `$${Buffer.byteLength(text)}\r\n${text}\r\n`;
	const server: Server = createServer((socket) => {
		let pending = '';
		socket.on('data', (chunk) => {
			pending += chunk.toString('utf8');
			// Each command arrives as a RESP array: *N\r\n then N bulk strings.
			for (;;) {
				const parsed = parseCommand(pending);
				if (!parsed) break;
				pending = pending.slice(parsed.length);
				const name = parsed.args[0]?.toUpperCase();
				if (name === 'INFO') socket.write(bulk(info));
				else if (name === 'PING') socket.write('+PONG\r\n');
				else if (name === 'QUIT') socket.end('+OK\r\n');
				else if (name === 'CLIENT' || name === 'SELECT') socket.write('+OK\r\n');
				else socket.write(`-ERR unknown command '${parsed.args[0]}'\r\n`);
			}
		});
		socket.on('error', () => undefined);
	});
	await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
	const address = server.address();
	if (!address || typeof address === 'string') throw new Error('old Redis stand-in has no port');
	return {
		port: address.port,
		close: async () => await new Promise<void>((resolve) => server.close(() => resolve())),
	};
}

function parseCommand(buffer: string): { args: string[]; length: number } | undefined {
	if (!buffer.startsWith('*')) return undefined;
	let at = buffer.indexOf('\r\n');
	if (at < 0) return undefined;
	const count = Number(buffer.slice(1, at));
	at += 2;
	const args: string[] = [];
	for (let i = 0; i < count; i++) {
		const end = buffer.indexOf('\r\n', at);
		if (end < 0) return undefined;
		const size = Number(buffer.slice(at + 1, end));
		const start = end + 2;
		if (buffer.length < start + size + 2) return undefined;
		args.push(buffer.slice(start, start + size));
		at = start + size + 2;
	}
	return { args, length: at };
}
