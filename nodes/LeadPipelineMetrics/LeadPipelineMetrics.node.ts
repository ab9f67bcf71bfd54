import { type IExecuteFunctions, type INodeExecutionData, type INodeType, type INodeTypeDescription, NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';

import { REDIS_CREDENTIAL, toRedisCredentialData } from '../common/redisCredential';
import { redisCredentialTestMethods } from '../common/redisCredentialTest';
import { withSharedRedis } from '../shared/queue';
import { cachedCredentials } from '../common/credentialCache';
import { metricsProperties } from './description';
import { dashboard, getLeadMetrics, getQueueHealth, pause, replay, resume, type Operation } from './operations';
import { failedItem } from '../common/failedItem';

const operations: Record<string, Operation> = {
	health: getQueueHealth,
	leadMetrics: getLeadMetrics,
	pause,
	resume,
	replayDeadLetters: replay,
	dashboard,
};

export class LeadPipelineMetrics implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Lead Pipeline Metrics',
		name: 'leadPipelineMetrics',
		icon: { light: 'file:leadPipelineMetrics.svg', dark: 'file:leadPipelineMetrics.dark.svg' },
		group: ['output'],
		version: 1,
		subtitle: '={{ $parameter["operation"] }}',
		description: 'Queue health, lead metrics, pause/resume and the dashboard page of the lead pipeline',
		defaults: { name: 'Lead Pipeline Metrics' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			// A database credential, named as the project names it (the rule only knows n8n's own Redis).
			// eslint-disable-next-line n8n-nodes-base/node-class-description-credentials-name-unsuffixed
			{ name: 'leadPipelineRedis', required: true, testedBy: 'leadPipelineRedisConnectionTest' },
		],
		properties: metricsProperties,
	};

	methods = { credentialTest: redisCredentialTestMethods };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const name = this.getNodeParameter('operation', 0) as string;
		const operation = operations[name];
		if (!operation) throw new NodeOperationError(this.getNode(), `Unknown operation "${name}"`);
		const credential = toRedisCredentialData(await cachedCredentials(this, REDIS_CREDENTIAL));
		try {
			return [
				await withSharedRedis(
					credential,
					async (redis) => {
						const out: INodeExecutionData[] = [];
						for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
							try {
								out.push({ json: await operation.call(this, redis, itemIndex), pairedItem: { item: itemIndex } });
							} catch (error) {
								const failure = error instanceof NodeOperationError ? error : new NodeOperationError(this.getNode(), error as Error, { itemIndex });
								if (!this.continueOnFail()) throw failure;
								out.push(failedItem(this, items[itemIndex].json, failure.message, { item: itemIndex }));
							}
						}
						return out;
					},
				),
			];
		} catch (error) {
			// A NodeOperationError from an operation passes through unchanged.
			throw new NodeOperationError(this.getNode(), error as Error);
		}
	}
}
