import type {
	IDataObject,
	INodeType,
	INodeTypeDescription,
	IRun,
	ITriggerFunctions,
	ITriggerResponse,
} from 'n8n-workflow';
import { NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';

import { closeRedis, connectRedis } from '../shared/redis';
import { REDIS_CREDENTIAL, redisCredentialTestMethods, toRedisCredentialData } from '../common/redisCredential';
import { StreamConsumer, type BatchOutcome, type StreamMessage } from '../shared/streamConsumer';
import { consumerProperties, readConsumerOptions } from './consumerOptions';

/** n8n resolves the done promise with the run (or undefined when no execution started). */
function outcomeOf(run: IRun | undefined): BatchOutcome {
	if (!run) return { status: 'unknown' };
	const error = run.data?.resultData?.error;
	return error ? { status: 'failed', error: error.message } : { status: 'success' };
}

export class RedisStreamConsumerTrigger implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Redis Stream Consumer Trigger',
		name: 'redisStreamConsumerTrigger',
		icon: { light: 'file:redisStreamConsumer.svg', dark: 'file:redisStreamConsumer.dark.svg' },
		group: ['trigger'],
		version: 1,
		subtitle: '={{ $parameter["stream"] + " / " + $parameter["group"] }}',
		description:
			'Consume a Redis stream in a consumer group: batches, acknowledgement after the execution, retries and a dead-letter stream',
		defaults: { name: 'Redis Stream Consumer' },
		inputs: [],
		outputs: [NodeConnectionTypes.Main],
		credentials: [
			{ name: 'leadPipelineRedis', required: true, testedBy: 'leadPipelineRedisConnectionTest' },
		],
		properties: consumerProperties,
	};

	methods = { credentialTest: redisCredentialTestMethods };

	async trigger(this: ITriggerFunctions): Promise<ITriggerResponse> {
		const options = readConsumerOptions(this);
		const manual = this.getMode() === 'manual';
		if (manual) options.maxBatches = 1;
		const credential = toRedisCredentialData(await this.getCredentials(REDIS_CREDENTIAL));
		const name = `n8n-lead-pipeline:${options.consumer}`;
		let command;
		let blocking;
		try {
			command = await connectRedis(credential, 'command', name);
			blocking = await connectRedis(credential, 'blocking', name);
		} catch (error) {
			await closeRedis(command);
			throw new NodeOperationError(this.getNode(), error as Error);
		}

		const handler = async (messages: StreamMessage[]): Promise<BatchOutcome> => {
			const done = this.helpers.createDeferredPromise<IRun>();
			// `this.emit` is looked up per batch: in manual mode n8n swaps it after trigger() returns.
			this.emit([messages.map((m) => ({ json: m as unknown as IDataObject }))], undefined, done);
			return outcomeOf(await done.promise);
		};
		const consumer = new StreamConsumer(command, blocking, options, handler, this.logger);

		const closeFunction = async () => {
			await consumer.stop(options.stopTimeoutMs);
			await Promise.all([closeRedis(command), closeRedis(blocking)]);
		};
		if (manual) {
			return {
				closeFunction,
				manualTriggerFunction: async () => {
					await consumer.start();
					await consumer.dispatchedFirstBatch;
				},
			};
		}
		try {
			await consumer.start();
		} catch (error) {
			await closeFunction();
			throw new NodeOperationError(this.getNode(), error as Error);
		}
		return { closeFunction };
	}
}
