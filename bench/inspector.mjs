// A minimal DevTools-protocol client for a process started with --inspect: forced garbage
// collection and heap figures, so a memory reading shows what is held, not garbage not yet
// collected. Uses the global WebSocket (Node ≥ 22, or Node 20 with --experimental-websocket) and
// falls back to the `ws` package.

/** The first "Debugger listening on ws://…" address in a process's output. */
export function inspectorUrl(logs) {
	return /Debugger listening on (ws:\/\/\S+)/.exec(logs)?.[1];
}

export async function connectInspector(url) {
	const WebSocketImpl = globalThis.WebSocket ?? (await import('ws')).default;
	const socket = new WebSocketImpl(url);
	await new Promise((resolve, reject) => {
		socket.onopen = resolve;
		socket.onerror = (event) => reject(new Error(`inspector ${url}: ${event.message ?? 'connection failed'}`));
	});
	let nextId = 1;
	const waiting = new Map();
	socket.onmessage = (event) => {
		const reply = JSON.parse(typeof event.data === 'string' ? event.data : event.data.toString());
		const pending = reply.id && waiting.get(reply.id);
		if (!pending) return;
		waiting.delete(reply.id);
		if (reply.error) pending.reject(new Error(`${pending.method}: ${reply.error.message}`));
		else pending.resolve(reply.result);
	};
	const send = (method, params = {}) =>
		new Promise((resolve, reject) => {
			const id = nextId++;
			waiting.set(id, { resolve, reject, method });
			socket.send(JSON.stringify({ id, method, params }));
		});
	return {
		send,
		/** process.pid of the inspected process (to be sure it is the one meant). */
		async pid() {
			const { result } = await send('Runtime.evaluate', { expression: 'process.pid', returnByValue: true });
			return result.value;
		},
		/** Full GCs (twice: finalizers of the first free more), then V8's heap used and total in MB. */
		async collectGarbage() {
			await send('HeapProfiler.collectGarbage');
			await send('HeapProfiler.collectGarbage');
			const { usedSize, totalSize } = await send('Runtime.getHeapUsage');
			return { heapUsedMb: usedSize / 2 ** 20, heapTotalMb: totalSize / 2 ** 20 };
		},
		/** Runs fn under the V8 CPU profiler; returns [fn's result, the .cpuprofile object]. */
		async profile(fn) {
			await send('Profiler.enable');
			await send('Profiler.setSamplingInterval', { interval: 200 });
			await send('Profiler.start');
			try {
				const result = await fn();
				return [result, (await send('Profiler.stop')).profile];
			} finally {
				await send('Profiler.disable');
			}
		},
		close() {
			socket.close();
		},
	};
}
