import { FILTRATION_PROCESSES, type FiltrationProcess } from './lead';

/**
 * The routing table that gives every new opportunity its filtration process. Rules are checked in
 * order, the first whose conditions match wins; then the destination → process map; then the
 * default (UNKNOWN). Pure: the Filter Router node resolves expressions and hands values in.
 */

export const CONDITION_OPERATIONS = ['equals', 'inList', 'regex', 'exists'] as const;
export type ConditionOperation = (typeof CONDITION_OPERATIONS)[number];

export const CONDITION_FIELDS = ['channel', 'destination', 'value'] as const;
export type ConditionField = (typeof CONDITION_FIELDS)[number];

export interface RuleConditionInput {
	/** channel = lead source channel; destination; value = any value the user gave (an expression). */
	field: ConditionField;
	operation: ConditionOperation;
	/** equals: one value; inList: comma/newline separated; regex: a pattern; exists: unused. */
	expected?: string;
}

export interface RoutingRuleInput {
	process: string;
	/** all: every condition must match; any: one is enough. */
	combine?: 'all' | 'any';
	conditions: RuleConditionInput[];
}

export class RoutingRuleError extends Error {
	constructor(
		readonly where: string,
		message: string,
	) {
		super(`${where}: ${message}`);
		this.name = 'RoutingRuleError';
	}
}

type Test = (actual: unknown) => boolean;

interface CompiledCondition {
	field: ConditionField;
	test: Test;
}

interface CompiledRule {
	process: FiltrationProcess;
	any: boolean;
	conditions: CompiledCondition[];
}

export interface RoutingTable {
	rules: CompiledRule[];
	destinations: Map<string, FiltrationProcess>;
	fallback: FiltrationProcess;
}

const norm = (v: unknown) => String(v).trim().toLowerCase();
const present = (v: unknown) => v !== undefined && v !== null && !(typeof v === 'string' && v.trim() === '');

export function asProcess(value: unknown, where: string): FiltrationProcess {
	const p = String(value ?? '').trim().toUpperCase();
	if (!(FILTRATION_PROCESSES as readonly string[]).includes(p)) {
		throw new RoutingRuleError(where, `process "${String(value)}" is not one of ${FILTRATION_PROCESSES.join(', ')}`);
	}
	return p as FiltrationProcess;
}

function compileCondition(c: RuleConditionInput, where: string): CompiledCondition {
	if (!(CONDITION_FIELDS as readonly string[]).includes(c.field)) throw new RoutingRuleError(where, `unknown field "${c.field}"`);
	const expected = c.expected ?? '';
	switch (c.operation) {
		case 'exists':
			return { field: c.field, test: present };
		case 'equals': {
			const want = norm(expected);
			return { field: c.field, test: (v) => present(v) && norm(v) === want };
		}
		case 'inList': {
			const list = new Set(expected.split(/[,\n]/).map(norm).filter(Boolean));
			if (list.size === 0) throw new RoutingRuleError(where, 'the list is empty');
			return { field: c.field, test: (v) => present(v) && list.has(norm(v)) };
		}
		case 'regex': {
			let re: RegExp;
			try {
				re = new RegExp(expected, 'i');
			} catch (error) {
				throw new RoutingRuleError(where, `invalid regular expression: ${(error as Error).message}`);
			}
			return { field: c.field, test: (v) => present(v) && re.test(String(v)) };
		}
		default:
			throw new RoutingRuleError(where, `unknown operation "${String(c.operation)}"`);
	}
}

/** The destination → process map as the existing backend keeps it: { "Goa": "PSV", ... }. */
export function parseDestinationMap(json: string | object | undefined): Map<string, FiltrationProcess> {
	const map = new Map<string, FiltrationProcess>();
	if (json === undefined || json === null || (typeof json === 'string' && json.trim() === '')) return map;
	let parsed: unknown = json;
	if (typeof json === 'string') {
		try {
			parsed = JSON.parse(json);
		} catch (error) {
			throw new RoutingRuleError('Destination Map', `is not valid JSON: ${(error as Error).message}`);
		}
	}
	if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new RoutingRuleError('Destination Map', 'must be a JSON object { "destination": "PROCESS" }');
	for (const [destination, process] of Object.entries(parsed)) map.set(norm(destination), asProcess(process, `Destination Map "${destination}"`));
	return map;
}

export function compileRoutingTable(rules: RoutingRuleInput[], destinationMap?: string | object, fallback: string = 'UNKNOWN'): RoutingTable {
	return {
		rules: rules.map((rule, i) => {
			const where = `Routing rule ${i + 1}`;
			if (!rule.conditions?.length) throw new RoutingRuleError(where, 'has no conditions');
			return {
				process: asProcess(rule.process, where),
				any: rule.combine === 'any',
				conditions: rule.conditions.map((c, k) => compileCondition(c, `${where}, condition ${k + 1}`)),
			};
		}),
		destinations: parseDestinationMap(destinationMap),
		fallback: asProcess(fallback, 'Default Process'),
	};
}

export interface LeadFacts {
	channel?: string;
	destination?: string;
	/** values[r][c] = the resolved "value" of rule r's condition c (only where field = value). */
	values?: unknown[][];
}

export type RouteMatch = { process: FiltrationProcess; routedBy: string };

export function route(table: RoutingTable, lead: LeadFacts): RouteMatch {
	for (let r = 0; r < table.rules.length; r++) {
		const rule = table.rules[r];
		const hit = (c: CompiledCondition, k: number) =>
			c.test(c.field === 'channel' ? lead.channel : c.field === 'destination' ? lead.destination : lead.values?.[r]?.[k]);
		if (rule.any ? rule.conditions.some(hit) : rule.conditions.every(hit)) return { process: rule.process, routedBy: `rule ${r + 1}` };
	}
	if (present(lead.destination)) {
		const mapped = table.destinations.get(norm(lead.destination));
		if (mapped) return { process: mapped, routedBy: 'destination map' };
	}
	return { process: table.fallback, routedBy: 'default' };
}

/** Processes a table can route to, in FILTRATION_PROCESSES order (for hiding unused outputs). */
export function reachableProcesses(table: RoutingTable): FiltrationProcess[] {
	const used = new Set<FiltrationProcess>([...table.rules.map((r) => r.process), ...table.destinations.values(), table.fallback]);
	return FILTRATION_PROCESSES.filter((p) => used.has(p));
}
