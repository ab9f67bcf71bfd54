import { type INodeType, type INodeTypeDescription, type IWebhookFunctions, type IWebhookResponseData, NodeConnectionTypes } from 'n8n-workflow';
import * as n8nWorkflow from 'n8n-workflow';

import { formSecretTestMethods } from '../common/formSecretCredential';
import { redisCredentialTestMethods } from '../common/redisCredentialTest';
import { leadTriggerProperties } from './description';
import { handleGet, handlePost } from './intake';

// n8n reads the webhook path for every request. Declared through webhookDescriptionFields (n8n
// 2.41+), n8n resolves it from the parameter natively instead of starting its expression engine
// each time; on an older n8n the plain template works as before.
const pathFromParameter =
	typeof n8nWorkflow.webhookDescriptionFields === 'function' && typeof n8nWorkflow.fromParameter === 'function'
		? n8nWorkflow.webhookDescriptionFields({ path: n8nWorkflow.fromParameter('path') })
		: { path: '={{$parameter["path"]}}' };

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
			// A database credential, named as the project names it (the rule only knows n8n's own Redis).
			// eslint-disable-next-line n8n-nodes-base/node-class-description-credentials-name-unsuffixed
			{ name: 'leadPipelineRedis', required: true, testedBy: 'leadPipelineRedisConnectionTest', displayOptions: { show: { durableAccept: [true] } } },
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
			{ name: 'setup', httpMethod: 'GET', responseMode: 'onReceived', ...pathFromParameter, isFullPath: true },
			{ name: 'default', httpMethod: 'POST', responseMode: 'onReceived', ...pathFromParameter, isFullPath: true },
		],
		properties: leadTriggerProperties,
		activationMessage:
			'Posts to the Production URL are now stored in the stream before they are answered. With Enqueue Only, no execution is started per lead, so the Executions list stays empty by design: the leads wait in the stream for the Redis Stream Consumer workflow.',
		triggerPanel: {
			header: 'Paste the Production URL (Webhook URLs above) into Meta or your form; the Test URL works only while this panel listens',
			executionsHelp: {
				inactive:
					'Send a post to the Test URL to see its items here. A test run never writes the production streams: it writes to "<stream>:test" (or nowhere, see the Test Runs Write To option).',
				active:
					'Leads arrive through the Production URL. With Enqueue Only they start no execution, so none is listed: look in the stream (Redis Stream node, Get Queue Info) or the consumer workflow\'s executions.',
			},
			activationHint:
				'Publish the workflow, then give the Production URL to Meta (Callback URL, with the credential\'s Verify Token) or to your website form.',
		},
	};

	methods = { credentialTest: { ...redisCredentialTestMethods, ...formSecretTestMethods } };

	async webhook(this: IWebhookFunctions): Promise<IWebhookResponseData> {
		return this.getWebhookName() === 'setup' ? await handleGet(this) : await handlePost(this);
	}
}
