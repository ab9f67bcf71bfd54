import type { INodeType, INodeTypeDescription, IWebhookFunctions, IWebhookResponseData } from 'n8n-workflow';
import { NodeConnectionTypes } from 'n8n-workflow';

import { formSecretTestMethods } from '../common/formSecretCredential';
import { redisCredentialTestMethods } from '../common/redisCredential';
import { leadTriggerProperties } from './description';
import { handleGet, handlePost } from './intake';

// Nothing is registered on a remote service: Meta webhooks are set up in the Meta app dashboard
// (this node answers its GET handshake) and forms simply post here. So no webhookMethods.
// eslint-disable-next-line @n8n/community-nodes/webhook-lifecycle-complete
export class LeadTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Lead Trigger',
		name: 'leadTrigger',
		icon: { light: 'file:leadTrigger.svg', dark: 'file:leadTrigger.dark.svg' },
		group: ['trigger'],
		version: 1,
		subtitle: '={{ $parameter["source"] }}',
		description:
			'Receive leads from website forms, WhatsApp, WhatsApp bots and Instagram: verified, normalized, stored before the 2xx',
		defaults: { name: 'Lead Trigger' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main, NodeConnectionTypes.Main],
		outputNames: ['Leads', 'Rejected', 'Events'],
		credentials: [
			{
				// The issue names this credential LeadPipelineRedis and the other nodes use it as is.
				// eslint-disable-next-line n8n-nodes-base/node-class-description-credentials-name-unsuffixed
				name: 'leadPipelineRedis',
				required: true,
				testedBy: 'leadPipelineRedisConnectionTest',
				displayOptions: { show: { durableAccept: [true] } },
			},
			{
				name: 'leadPipelineWhatsAppApi',
				required: true,
				displayOptions: { show: { source: ['whatsapp', 'instagram', 'auto'] } },
			},
			{
				name: 'leadPipelineFormSecretApi',
				required: true,
				testedBy: 'leadPipelineFormSecretCheck',
				displayOptions: { show: { authentication: ['sharedSecret', 'hmac'] } },
			},
		],
		webhooks: [
			// isFullPath: the URL is /webhook/<path> as configured, not prefixed with the webhook id.
			{ name: 'setup', httpMethod: 'GET', responseMode: 'onReceived', path: '={{ $parameter["path"] }}', isFullPath: true },
			{ name: 'default', httpMethod: 'POST', responseMode: 'onReceived', path: '={{ $parameter["path"] }}', isFullPath: true },
		],
		properties: leadTriggerProperties,
	};

	methods = { credentialTest: { ...redisCredentialTestMethods, ...formSecretTestMethods } };

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		return this.getWebhookName() === 'setup' ? await handleGet(this) : await handlePost(this);
	}
}
