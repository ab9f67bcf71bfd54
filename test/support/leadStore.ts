import { dedupeKeysOf, type CheckInput } from '../../nodes/shared/store/contract';
import { newTraceId } from '../../nodes/shared/lead/trace';

/** Every match kind switched on, as Dedupe Leads' defaults. */
export const ALL_MATCH_KINDS = { phone: true, email: true, nameDestination: true };

/** A lead store check of `lead` in namespace `ns`, keys from every match kind, a one-hour window. */
export const checkInput = (ns: string, lead: CheckInput['lead'], traceId = newTraceId()): CheckInput => ({
	traceId,
	namespace: ns,
	keys: dedupeKeysOf(lead, ALL_MATCH_KINDS),
	windowSeconds: 3600,
	lead,
});
