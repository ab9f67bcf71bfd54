import type Redis from 'ioredis';
import { type IDataObject, type IExecuteFunctions, type INodeExecutionData, type INodeType, type INodeTypeDescription, NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';

import { cachedCredentials } from '../common/credentialCache';
import { metricsScope, settingsForMetrics, type MetricsScope } from '../common/metricsOptions';
import { REDIS_CREDENTIAL, toRedisCredentialData } from '../common/redisCredential';
import { redisCredentialTestMethods } from '../common/redisCredentialTest';
import { webhookSigningTestMethods } from '../common/webhookSigningCredential';
import { borrowRedis, type BorrowedRedis } from '../shared/queue';
import { releaseDue } from '../shared/webhook';
import { webhookDeliverProperties } from './description';
import { queueNames, type Options } from './plan';
import { deliverItems } from './run';

export class WebhookDeliver implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Webhook Deliver',
		name: 'webhookDeliver',
		icon: { light: 'file:webhookDeliver.svg', dark: 'file:webhookDeliver.dark.svg' },
		group: ['output'],
		version: 1,
		subtitle: '={{ $parameter["operation"] === "deliver" ? $parameter["method"] + " " + $parameter["eventType"] : "Release due retries" }}',
		description: 'Deliver signed webhooks (Standard Webhooks) with retries, Retry-After, dead letters and an SSRF guard',
		defaults: { name: 'Webhook Deliver' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main, NodeConnectionTypes.Main],
		outputNames: ['Delivered', 'Failed', 'Deferred'],
		credentials: [
			{ name: 'leadPipelineWebhookSigningApi', required: false, testedBy: 'leadPipelineWebhookSigningCheck' },
			{ name: 'leadPipelineRedis', required: true, testedBy: 'leadPipelineRedisConnectionTest', displayOptions: { show: { useRedis: [true] } } },
		],
		properties: webhookDeliverProperties,
	};

	methods = { credentialTest: { ...redisCredentialTestMethods, ...webhookSigningTestMethods } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const manual = this.getMode() === 'manual';
		const options = this.getNodeParameter('options', 0, {}) as Options;
		const names = queueNames(options);
		const useRedis = this.getNodeParameter('useRedis', 0, false) as boolean;
		let redis: Redis | undefined;
		let borrowed: BorrowedRedis | undefined;
		let metrics: MetricsScope | undefined;
		if (useRedis) {
			try {
				const fields = await cachedCredentials(this, REDIS_CREDENTIAL);
				metrics = metricsScope(this.getMode(), options as IDataObject, settingsForMetrics(fields, this.getTimezone()));
				borrowed = await borrowRedis(toRedisCredentialData(fields));
				redis = borrowed.redis;
			} catch (error) {
				throw new NodeOperationError(this.getNode(), error as Error);
			}
		}
		try {
			if (this.getNodeParameter('operation', 0) === 'releaseDueRetries') {
				if (!redis) throw new NodeOperationError(this.getNode(), 'Release Due Retries needs Redis', { description: 'Turn on "Use Redis" and choose the Redis credential' });
				// An editor run only reports; it does not move production entries.
				const released = manual ? 0 : await releaseDue(redis, names, Date.now());
				return [[{ json: { released, retryStream: names.retryStream, manual }, pairedItem: { item: 0 } }], [], []];
			}
			return await deliverItems(this, manual, options, names, redis, metrics);
		} finally {
			borrowed?.release();
		}
	}
}
