import http from 'node:http';
import https from 'node:https';

import { guardedLookup } from './addresses';

const MAX_POOLED_ORIGINS = 256;
const agents = new Map<string, http.Agent>();

/**
 * One keep-alive agent per origin (and guard mode), shared by every item and execution in this
 * process, so consecutive deliveries to one receiver reuse warm TCP/TLS connections. Idle sockets
 * are unref'd by Node, so the pool never keeps the process alive. Least recently used origins are
 * dropped beyond MAX_POOLED_ORIGINS.
 */
export function agentFor(url: URL, allowInternal: boolean): http.Agent {
	const key = `${url.protocol}//${url.host}|${allowInternal ? 'internal' : 'guarded'}`;
	const found = agents.get(key);
	if (found) {
		agents.delete(key);
		agents.set(key, found);
		return found;
	}
	const options: https.AgentOptions = {
		keepAlive: true,
		keepAliveMsecs: 1000,
		maxSockets: 64,
		maxFreeSockets: 64,
		scheduling: 'lifo',
		...(allowInternal ? {} : { lookup: guardedLookup }),
	};
	const agent = url.protocol === 'https:' ? new https.Agent(options) : new http.Agent(options);
	agents.set(key, agent);
	if (agents.size > MAX_POOLED_ORIGINS) {
		const [oldestKey, oldest] = agents.entries().next().value as [string, http.Agent];
		agents.delete(oldestKey);
		oldest.destroy();
	}
	return agent;
}

/** Closes every pooled connection (tests, shutdown). */
export function closeHttpAgents(): void {
	for (const agent of agents.values()) agent.destroy();
	agents.clear();
}

/** Number of origins with a pooled agent (observability, tests). */
export function pooledOrigins(): number {
	return agents.size;
}
