import { resolveWebhookDescriptionField, webhookDescriptionIsNativelyResolvable, type INode } from 'n8n-workflow';

import { LeadTrigger } from '../../nodes/LeadTrigger/LeadTrigger.node';

// n8n 2.41 resolves a webhook description without its expression engine (a V8 isolate per
// evaluation) when every field is static or declared with a native resolver; the Lead Trigger's
// path must be, since it is read for every request.
describe('Lead Trigger webhook descriptions', () => {
	const webhooks = new LeadTrigger().description.webhooks ?? [];
	const node = { parameters: { path: 'leads' } } as unknown as INode;

	it('are resolvable without the expression engine', () => {
		expect(webhooks.length).toBe(2);
		for (const webhook of webhooks) expect(webhookDescriptionIsNativelyResolvable(webhook)).toBe(true);
	});

	it('resolve the path from the node parameter natively', () => {
		for (const webhook of webhooks) expect(resolveWebhookDescriptionField(node, webhook, 'path')).toEqual({ resolved: true, value: 'leads' });
	});
});
