import { type IExecuteFunctions, type INodeExecutionData, type INodeType, type INodeTypeDescription, NodeConnectionTypes } from 'n8n-workflow';

import { getMessagesProperties, operationProperty, recordStatusProperties, sendProperties } from './description';
import { executeGetMessages } from './operations/getMessages';
import { executeRecordStatus } from './operations/recordStatus';
import { executeSend } from './operations/send';
import { redisCredentialTestMethods } from '../common/redisCredentialTest';

// Send has three outputs (Not Sent also takes the unknown outcomes: a fourth would move the error
// output of saved workflows); Record Status and Get Message History one.
const OUTPUTS = `={{ $parameter.operation === "send" ? [{ "type": "main", "displayName": "Sent" }, { "type": "main", "displayName": "Not Sent / Unknown" }, { "type": "main", "displayName": "Deferred" }] : [{ "type": "main" }] }}`;

export class WhatsAppSend implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'WhatsApp Send',
		name: 'whatsAppSend',
		icon: { light: 'file:whatsAppSend.svg', dark: 'file:whatsAppSend.dark.svg' },
		group: ['output'],
		version: 1,
		subtitle: '={{ $parameter["operation"] === "send" ? "send · " + $parameter["channel"] : $parameter["operation"] }}',
		description: 'Message leads on WhatsApp (Cloud API or a QR session service) within business rules, and track delivery status',
		defaults: { name: 'WhatsApp Send' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: OUTPUTS,
		credentials: [
			// A database credential, named as the project names it (the rule only knows n8n's own Redis).
			// eslint-disable-next-line n8n-nodes-base/node-class-description-credentials-name-unsuffixed
			{ name: 'leadPipelineRedis', required: true, testedBy: 'leadPipelineRedisConnectionTest' },
			{ name: 'leadPipelineWhatsAppApi', required: false, displayOptions: { show: { operation: ['send'], channel: ['cloudApi', 'cloudApiWithQrFallback'] } } },
			{ name: 'leadPipelineQrSessionApi', required: false, displayOptions: { show: { operation: ['send'], channel: ['qrSession', 'cloudApiWithQrFallback'] } } },
		],
		properties: [operationProperty, ...sendProperties, ...recordStatusProperties, ...getMessagesProperties],
	};

	methods = { credentialTest: { ...redisCredentialTestMethods } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const operation = this.getNodeParameter('operation', 0) as string;
		if (operation === 'recordStatus') return await executeRecordStatus.call(this);
		if (operation === 'getMessages') return await executeGetMessages.call(this);
		return await executeSend.call(this);
	}
}
