import type { SyncOpportunity } from './syncTypes';
import type { SyncLead } from './types';

/**
 * What makes two opportunities one person's for the CRM: its find-or-create of the lead looks up the
 * phone, then the email, so opportunities sharing either (or the store's profile) push one after
 * another, never racing to create the same CRM lead twice.
 */
export function personKeys(loaded: { opportunity: SyncOpportunity; lead: SyncLead } | null): string[] {
	if (!loaded) return [];
	const { opportunity, lead } = loaded;
	const phone = (lead.phone ?? '').replace(/\D/g, '');
	return [
		...(phone ? [`phone:${phone}`] : []),
		...(lead.email ? [`email:${lead.email.trim().toLowerCase()}`] : []),
		...(typeof opportunity.leadId === 'string' && opportunity.leadId ? [`profile:${opportunity.leadId}`] : []),
	];
}
