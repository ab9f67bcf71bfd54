import type { FiltrationProcess } from './lead';

/**
 * The stage machine per filtration process. PSV/WEST teams work a lead FRESH_LEAD → IN_PROGRESS →
 * QUALIFIED; UNKNOWN and UPCOMING leads are promoted by an admin; NO_FILTER goes straight to the CRM.
 * DROPPED ends any open stage. A pushed opportunity (in the CRM) never changes here.
 */

export const DROPPED = 'DROPPED';

interface ProcessStages {
	/** Stages in order; the last one is the qualified (promoted) stage. */
	path: string[];
}

export const STAGE_MACHINE: Record<FiltrationProcess, ProcessStages> = {
	PSV: { path: ['FRESH_LEAD', 'IN_PROGRESS', 'QUALIFIED'] },
	WEST: { path: ['FRESH_LEAD', 'IN_PROGRESS', 'QUALIFIED'] },
	UNKNOWN: { path: ['UNKNOWN_FRESH_LEAD', 'UNKNOWN_QUALIFIED'] },
	UPCOMING: { path: ['UPCOMING_FRESH_LEAD', 'UPCOMING_QUALIFIED'] },
	NO_FILTER: { path: ['FRESH_LEAD'] },
};

export function initialStage(process: FiltrationProcess): string {
	return STAGE_MACHINE[process].path[0];
}

/** The stage Qualify promotes to; undefined for NO_FILTER (it is never qualified here). */
export function qualifiedStage(process: FiltrationProcess): string | undefined {
	const path = STAGE_MACHINE[process].path;
	return path.length > 1 ? path[path.length - 1] : undefined;
}

export interface StageFacts {
	process?: FiltrationProcess;
	stage: string;
	pushed?: boolean;
}

export type TransitionCheck = { ok: true } | { ok: false; from: string; to: string; allowed: string[]; reason: string };

/**
 * Stages the opportunity may move to now. Strict: only the next stage (or DROPPED). Not strict:
 * any later stage on the path (skipping), or DROPPED.
 */
export function allowedNext(facts: StageFacts, strict: boolean): string[] {
	if (facts.pushed || !facts.process) return [];
	const path = STAGE_MACHINE[facts.process].path;
	const at = path.indexOf(facts.stage);
	if (at < 0 || at === path.length - 1 || path.length === 1) return [];
	return [...(strict ? [path[at + 1]] : path.slice(at + 1)), DROPPED];
}

export function checkTransition(facts: StageFacts, to: string, strict: boolean): TransitionCheck {
	const allowed = allowedNext(facts, strict);
	if (allowed.includes(to)) return { ok: true };
	const reason = facts.pushed
		? 'the opportunity is already in the CRM and cannot change here'
		: !facts.process
			? 'the opportunity has not been routed yet (no filtration process): run Filter Router first'
			: allowed.length === 0
				? `${facts.stage} is a final stage for ${facts.process}`
				: `${facts.process} does not allow ${facts.stage} → ${to}${strict ? ' in strict mode' : ''}`;
	return { ok: false, from: facts.stage, to, allowed, reason };
}
