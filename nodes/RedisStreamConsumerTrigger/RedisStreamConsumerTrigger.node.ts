import { type IDataObject, type INodeType, type INodeTypeDescription, type IRun, type ITriggerFunctions, type ITriggerResponse, NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';

import type Redis from 'ioredis';

import { isPaused, closeRedis, connectRedis, adviseOnRedisError, peekUndelivered, testRunMessage, ConsumerFailure, StreamConsumer, type BatchOutcome, type StreamMessage } from '../shared/queue';
import { metricsScope, settingsForMetrics } from '../common/metricsOptions';
import { REDIS_CREDENTIAL, toRedisCredentialData } from '../common/redisCredential';
import { redisCredentialTestMethods } from '../common/redisCredentialTest';
import { consumerMetrics } from './consumerMetrics';
import { consumerProperties, readConsumerOptions } from './consumerOptions';

/** n8n resolves the done promise with the run (or undefined when no execution started). */
function outcomeOf(run: IRun | undefined): BatchOutcome {
	if (!run) return { status: 'unknown' };
	if (run.status === 'waiting' || run.waitTill) return { status: 'waiting' };
	const error = run.data?.resultData?.error;
	return error ? { status: 'failed', error: error.message } : { status: 'success' };
}

/**
 * The editor's Listen / Execute step: peek at the entries the group would get next, never
 * consume them (see streamPeek.ts). A consumer would register itself and make live leads
 * pending, then ack or dead-letter them without the workflow having run.
 */
function peekForTestRun(
	ctx: ITriggerFunctions,
	options: ReturnType<typeof readConsumerOptions>,
	command: Redis,
	blocking: Redis,
): ITriggerResponse {
	let stopped = false;
	return {
		closeFunction: async () => {
			stopped = true;
			await Promise.all([closeRedis(command), closeRedis(blocking)]);
		},
		manualTriggerFunction: async () => {
			let entries;
			try {
				entries = await peekUndelivered(command, blocking, { ...options, count: options.batchSize, stopped: () => stopped });
			} catch (error) {
				if (stopped) return;
				throw new NodeOperationError(ctx.getNode(), error as Error, { description: adviseOnRedisError(error, options).description });
			}
			if (entries.length === 0) return;
			// A paused group is said on every item, so the editor shows why production reads nothing.
			const paused = await isPaused(command, options.stream, options.group).catch(() => false);
			const marker = paused ? { paused: true } : {};
			// An interface has no index signature, so TypeScript will not take it as IDataObject; it is plain JSON.
			ctx.emit([entries.map((entry) => ({ json: { ...(testRunMessage(entry, options.stream, options.parseJson) as unknown as IDataObject), ...marker } }))]);
		},
	};
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
		const fields = await this.getCredentials(REDIS_CREDENTIAL);
		const credential = toRedisCredentialData(fields);
		const name = `n8n-lead-pipeline:${options.consumer}`;
		let command: Redis | undefined;
		let blocking: Redis;
		try {
			command = await connectRedis(credential, 'command', name);
			blocking = await connectRedis(credential, 'blocking', name);
		} catch (error) {
			await closeRedis(command);
			throw new NodeOperationError(this.getNode(), error as Error);
		}

		if (manual) return peekForTestRun(this, options, command, blocking);

		const handler = async (messages: StreamMessage[]): Promise<BatchOutcome> => {
			const done = this.helpers.createDeferredPromise<IRun>();
			// StreamMessage is an interface (no index signature), so it is not an IDataObject to TypeScript; it is plain JSON.
			this.emit([messages.map((m) => ({ json: m as unknown as IDataObject }))], undefined, done);
			return outcomeOf(await done.promise);
		};
		// Errors retrying cannot clear reach n8n, which marks the workflow as failing and reactivates it.
		const onFailure = (failure: ConsumerFailure) =>
			this.emitError(new NodeOperationError(this.getNode(), failure.message, { description: failure.description }));
		// The consumer core says what it retried and dead-lettered; counted here as retries and
		// deadLettered, in the Pipeline Settings' namespace.
		const scope = metricsScope(this.getMode(), this.getNodeParameter('options', {}) as IDataObject, settingsForMetrics(fields, this.getTimezone()));
		const metrics = consumerMetrics(command, scope, this.logger);
		const consumer = new StreamConsumer(command, blocking, { ...options, metrics }, handler, this.logger, onFailure);
		const closeConnections = async () => void (await Promise.all([closeRedis(command), closeRedis(blocking)]));
		const closeFunction = async () => {
			await consumer.stop(options.stopTimeoutMs);
			// Executions still running keep their entries held (heartbeat) until they report back, so
			// the next activation cannot run them beside them; the connections close after that.
			if (consumer.holding) void consumer.drained.then(closeConnections);
			else await closeConnections();
		};
		try {
			await consumer.start();
		} catch (error) {
			await closeFunction();
			throw new NodeOperationError(this.getNode(), error as Error, { description: adviseOnRedisError(error, options).description });
		}
		return { closeFunction };
	}
}
