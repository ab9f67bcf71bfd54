// Routing-table throughput: 100k leads through nodes/shared/lead/rules.ts (a typical table: a channel
// rule, two destination lists, a regex on an expression value, a 200-entry destination map, default
// UNKNOWN) against a hand-written JS switch on destination in the same run. Prints figures only.
//   node -r ./scripts/ts-register.js bench/routing.ts [--leads=100000]
import { compileRoutingTable, route, type LeadFacts } from '../nodes/shared/lead/rules';

const arg = (name: string, fallback: number) => Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? fallback);
const LEADS = arg('leads', 100_000);

const mapped = Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`City ${i}`, i % 2 ? 'PSV' : 'WEST']));
const table = compileRoutingTable(
	[
		{ process: 'NO_FILTER', conditions: [{ field: 'channel', operation: 'equals', expected: 'WHATSAPP_BOT' }] },
		{ process: 'WEST', conditions: [{ field: 'destination', operation: 'inList', expected: 'Goa, Kerala, Bali, Phuket' }] },
		{ process: 'PSV', conditions: [{ field: 'destination', operation: 'inList', expected: 'Dubai, Paris, London' }] },
		{ process: 'UPCOMING', combine: 'any', conditions: [{ field: 'value', operation: 'regex', expected: '^20(2[7-9]|3\\d)$' }] },
	],
	JSON.stringify(mapped),
);

const destinations = ['Goa', 'kerala', 'Dubai', 'Paris', 'Atlantis', ...Object.keys(mapped).slice(0, 20)];
const channels = ['WEBSITE', 'WHATSAPP', 'WHATSAPP_BOT', 'INSTAGRAM_BOT'];
const leads: LeadFacts[] = Array.from({ length: LEADS }, (_, i) => ({
	channel: channels[i % channels.length],
	destination: destinations[i % destinations.length],
	values: [[], [], [], [i % 7 === 0 ? '2028' : '2026']],
}));

const lowerMapped: Record<string, string> = Object.fromEntries(Object.entries(mapped).map(([k, v]) => [k.toLowerCase(), v]));
const year = /^20(2[7-9]|3\d)$/;

/** The baseline: what a developer would hard-code for the same table. */
function baseline(lead: LeadFacts): string {
	if (lead.channel === 'WHATSAPP_BOT') return 'NO_FILTER';
	const d = (lead.destination ?? '').trim().toLowerCase();
	switch (d) {
		case 'goa': case 'kerala': case 'bali': case 'phuket':
			return 'WEST';
		case 'dubai': case 'paris': case 'london':
			return 'PSV';
	}
	if (year.test(String(lead.values?.[3]?.[0] ?? ''))) return 'UPCOMING';
	return lowerMapped[d] ?? 'UNKNOWN';
}

function time(label: string, fn: (lead: LeadFacts) => string): number {
	for (let i = 0; i < 5_000; i++) fn(leads[i % leads.length]); // warm-up
	const counts: Record<string, number> = {};
	const started = process.hrtime.bigint();
	for (const lead of leads) {
		const p = fn(lead);
		counts[p] = (counts[p] ?? 0) + 1;
	}
	const ns = Number(process.hrtime.bigint() - started);
	const perSecond = LEADS / (ns / 1e9);
	process.stdout.write(`${label.padEnd(28)} ${Math.round(perSecond).toLocaleString('en-US').padStart(12)} leads/s  ${(ns / 1e3 / LEADS).toFixed(3)} µs/lead  ${JSON.stringify(counts)}\n`);
	return perSecond;
}

process.stdout.write(`${LEADS.toLocaleString('en-US')} leads, ${table.rules.length} rules + ${table.destinations.size}-entry destination map\n`);
const ours = time('routing table (rules.ts)', (lead) => route(table, lead).process);
const js = time('baseline: JS switch', baseline);
process.stdout.write(`ratio routing table / baseline: ${(ours / js).toFixed(2)}\n`);
