import type { FiltrationProcess } from './lead';

/**
 * Qualification criteria and lead scoring (pure). Score = source weight of the lead's channel +
 * the bonus Dedupe Leads gives ex-clients (scoreBonus). UPCOMING leads always need a real
 * destination and an assigned sales person before they can be promoted.
 */

export interface Criteria {
	/** Lead fields that must be present (e.g. name, phone). */
	requiredFields: string[];
	requireDestination: boolean;
	requireSalesPerson: boolean;
	minScore: number;
}

export interface QualifyFacts {
	process?: FiltrationProcess;
	lead: Record<string, unknown>;
	destination?: string;
	salesPerson?: string;
	score: number;
}

export const DEFAULT_SOURCE_WEIGHTS: Record<string, number> = { WEBSITE: 10, WHATSAPP: 20, WHATSAPP_BOT: 15, INSTAGRAM_BOT: 10 };

const present = (v: unknown) => v !== undefined && v !== null && !(typeof v === 'string' && v.trim() === '');

export function parseSourceWeights(json: string | object | undefined): Record<string, number> {
	if (json === undefined || json === '' || json === null) return { ...DEFAULT_SOURCE_WEIGHTS };
	const parsed = typeof json === 'string' ? (JSON.parse(json) as unknown) : json;
	if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('Source Weights must be a JSON object like { "WEBSITE": 10 }');
	const weights: Record<string, number> = {};
	for (const [channel, weight] of Object.entries(parsed)) {
		if (typeof weight !== 'number' || !Number.isFinite(weight)) throw new Error(`Source Weights: "${channel}" must be a number`);
		weights[channel.toUpperCase()] = weight;
	}
	return weights;
}

export function scoreLead(channel: string | undefined, scoreBonus: unknown, weights: Record<string, number>): number {
	const bonus = typeof scoreBonus === 'number' && Number.isFinite(scoreBonus) ? scoreBonus : 0;
	return (weights[(channel ?? '').toUpperCase()] ?? 0) + bonus;
}

const isUnknownDestination = (d: string | undefined) => !present(d) || /^unknown$/i.test(String(d).trim());

/** The criteria a lead does not meet, as sentences a person can act on; [] = qualified. */
export function unmetCriteria(facts: QualifyFacts, criteria: Criteria): string[] {
	const unmet: string[] = [];
	for (const field of criteria.requiredFields) if (!present(facts.lead[field])) unmet.push(`${field} is missing`);
	const upcoming = facts.process === 'UPCOMING';
	if ((criteria.requireDestination || upcoming) && isUnknownDestination(facts.destination)) unmet.push('destination is unknown');
	if ((criteria.requireSalesPerson || upcoming) && !present(facts.salesPerson)) unmet.push('no sales person assigned');
	if (facts.score < criteria.minScore) unmet.push(`score ${facts.score} is below ${criteria.minScore}`);
	return unmet;
}

/** The n-th pick (1-based, as Redis INCR counts) of a round-robin list. */
export function roundRobinPick(list: string[], n: number): string | undefined {
	return list.length ? list[(((n - 1) % list.length) + list.length) % list.length] : undefined;
}

export function parseList(text: string): string[] {
	return text.split(/[,\n]/).map((s) => s.trim()).filter(Boolean);
}
