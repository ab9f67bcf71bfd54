import type Redis from 'ioredis';
import { type IDataObject, type IExecuteFunctions, type INodeExecutionData, type INodeType, type INodeTypeDescription, NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';

import { metricsScope, recordMetrics } from '../common/metricsOptions';
import { mongoCredentialTestMethods, safeMongoMessage, toMongoCredentialData } from '../common/mongoCredential';
import { openPipeline } from '../common/pipelineSettings';
import { REDIS_CREDENTIAL, toRedisCredentialData } from '../common/redisCredential';
import { redisCredentialTestMethods } from '../common/redisCredentialTest';
import { leadOfItem, type LeadFields, type SettingsOverrides } from '../shared/lead';
import { borrowRedis } from '../shared/queue';
import { cachedCredentials } from '../common/credentialCache';
import { COUNTER, type DecisionEvent } from '../shared/metrics';
import { dedupeKeysOf, type CheckInput, type LeadStore, type Verdict, type MatchKind, MongoLeadStore, RedisLeadStore } from '../shared/store';
import { dedupeProperties } from './description';
import { failedItem } from '../common/failedItem';

interface OpenStore {
	store: LeadStore;
	/** Present when a Redis connection is open (ex-client sets live there). */
	redis?: Redis;
	/** The namespace of item i (v1 allowed an expression per item). */
	namespaceOf(itemIndex: number): string;
	/** The day boundary metrics are counted by (Pipeline Settings, else n8n's). */
	timeZone: string;
	close(): Promise<void>;
}

/** Version 1: store and namespace were parameters of the node, MongoDB had its own credential. */
async function openStoreV1(ctx: IExecuteFunctions): Promise<OpenStore> {
	const namespaceOf = (itemIndex: number) => String(ctx.getNodeParameter('namespace', itemIndex, 'leads'));
	if (ctx.getNodeParameter('store', 0) === 'mongodb') {
		const cred = toMongoCredentialData(await ctx.getCredentials('leadPipelineMongo'));
		try {
			const store = await MongoLeadStore.connect(cred.connectionString, cred.database);
			return { store, namespaceOf, timeZone: ctx.getTimezone(), close: async () => await store.close() };
		} catch (error) {
			throw new NodeOperationError(ctx.getNode(), 'Could not connect to MongoDB', { description: safeMongoMessage(error, cred) });
		}
	}
	try {
		const borrowed = await borrowRedis(toRedisCredentialData(await cachedCredentials(ctx, REDIS_CREDENTIAL)));
		const store = new RedisLeadStore(borrowed.redis);
		return { store, redis: borrowed.redis, namespaceOf, timeZone: ctx.getTimezone(), close: async () => borrowed.release() };
	} catch (error) {
		throw new NodeOperationError(ctx.getNode(), error as Error);
	}
}

/** Version 2: the Pipeline Settings on the credential, with the node's optional overrides. */
async function openStore(ctx: IExecuteFunctions): Promise<OpenStore> {
	if (ctx.getNode().typeVersion < 2) return await openStoreV1(ctx);
	const options = ctx.getNodeParameter('options', 0, {}) as SettingsOverrides;
	const pipeline = await openPipeline(ctx, { namespace: options.namespace, leadStore: options.leadStore });
	return { store: pipeline.store, redis: pipeline.redis, namespaceOf: () => pipeline.settings.namespace, timeZone: pipeline.settings.timeZone, close: pipeline.close };
}

/** A field the store records: a non-empty string, else absent (items may carry null or numbers). */
const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/** undefined: no ex-client check configured (nothing to await per lead). */
async function exClientCheck(ctx: IExecuteFunctions, redis: Redis | undefined): Promise<((lead: LeadFields) => Promise<boolean>) | undefined> {
	const mode = ctx.getNodeParameter('exClients', 0) as string;
	const keysOf = (lead: LeadFields) => [lead.phone, lead.email?.trim().toLowerCase()].filter((v): v is string => Boolean(v));
	if (mode === 'list') {
		const list = new Set(
			String(ctx.getNodeParameter('exClientList', 0, ''))
				.split(/[\s,]+/)
				.map((v) => v.trim().toLowerCase())
				.filter(Boolean),
		);
		return async (lead) => keysOf(lead).some((k) => list.has(k.toLowerCase()));
	}
	if (mode === 'redisSet' && redis) {
		const key = String(ctx.getNodeParameter('exClientSet', 0, 'exClients'));
		return async (lead) => {
			const keys = keysOf(lead);
			return keys.length > 0 && (await redis.smismember(key, ...keys)).some((hit) => hit === 1);
		};
	}
	return undefined;
}

/** new / duplicate{matchedOn} per recorded verdict; one write per namespace (v1 may vary it per item). */
async function countVerdicts(
	ctx: IExecuteFunctions,
	redis: Redis | undefined,
	options: IDataObject,
	timeZone: string,
	checks: Array<{ input: CheckInput }>,
	verdicts: Verdict[],
): Promise<void> {
	const byNamespace = new Map<string, DecisionEvent[]>();
	checks.forEach(({ input }, i) => {
		const verdict = verdicts[i];
		const event: DecisionEvent = verdict.duplicate
			? { traceId: input.traceId, counter: COUNTER.duplicate, labels: { matchedOn: verdict.matchedOn } }
			: { traceId: input.traceId, counter: COUNTER.new };
		const events = byNamespace.get(input.namespace);
		if (events) events.push(event);
		else byNamespace.set(input.namespace, [event]);
	});
	for (const [namespace, events] of byNamespace) {
		await recordMetrics(ctx.logger, redis, metricsScope(ctx.getMode(), options, { namespace, timeZone }), events);
	}
}

interface DedupeSettings {
	enabled: Record<MatchKind, boolean>;
	windowSeconds: number;
	onDuplicate: string;
	passThrough: boolean;
	bonus: number;
	options: IDataObject;
	checkOnly: boolean;
}

function dedupeSettings(ctx: IExecuteFunctions): DedupeSettings {
	const enabled = Object.fromEntries(
		(['phone', 'email', 'nameDestination'] as MatchKind[]).map((k) => [k, (ctx.getNodeParameter('matchOn', 0) as string[]).includes(k)]),
	) as Record<MatchKind, boolean>;
	const options = ctx.getNodeParameter('options', 0, {}) as IDataObject;
	const checkOnlyWhen = (options.checkOnly as string | undefined) ?? 'manual';
	return {
		enabled,
		windowSeconds: Math.round((ctx.getNodeParameter('windowDays', 0) as number) * 86_400),
		onDuplicate: ctx.getNodeParameter('onDuplicate', 0) as string,
		passThrough: ctx.getNodeParameter('noKey', 0) === 'passThrough',
		bonus: ctx.getNodeParameter('exClientBonus', 0, 20) as number,
		options,
		// Editor test runs must not change the dedupe history production relies on.
		checkOnly: checkOnlyWhen === 'always' || (checkOnlyWhen === 'manual' && ctx.getMode() === 'manual'),
	};
}

type LeadCheck = { itemIndex: number; lead: LeadFields; input: CheckInput };
type DedupeOutputs = { fresh: INodeExecutionData[]; duplicates: INodeExecutionData[] };

/** The store check of each item; items without a trace or anything to match on pass through or fail (onto `fresh`). */
function planChecks(ctx: IExecuteFunctions, items: INodeExecutionData[], settings: DedupeSettings, namespaceOf: (itemIndex: number) => string, fresh: INodeExecutionData[]): LeadCheck[] {
	const checks: LeadCheck[] = [];
	for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
		const json = items[itemIndex].json;
		const lead = leadOfItem(json);
		const keys = dedupeKeysOf(lead, settings.enabled);
		const problem = !lead.traceId ? 'the item has no traceId' : Object.keys(keys).length === 0 ? 'the lead has no phone, no email and no name + destination to match on' : undefined;
		if (!problem) {
			const namespace = namespaceOf(itemIndex);
			const channel = lead.source?.channel ?? 'WEBSITE';
			checks.push({ itemIndex, lead, input: { traceId: lead.traceId!, namespace, keys, windowSeconds: settings.windowSeconds, lead: { channel, name: text(lead.name), phone: text(lead.phone), waId: text(lead.waId), email: text(lead.email), destination: text(lead.destination) } } });
			continue;
		}
		const pairedItem = { item: itemIndex };
		if (settings.passThrough) {
			fresh.push({ json: { ...json, dedupeSkipped: problem }, pairedItem });
			continue;
		}
		const error = new NodeOperationError(ctx.getNode(), `Cannot dedupe item ${itemIndex}: ${problem}`, { itemIndex });
		if (!ctx.continueOnFail()) throw error;
		fresh.push(failedItem(ctx, json, error.message, pairedItem));
	}
	return checks;
}

/** Each checked item to New (with its opportunity, tagged when an ex-client) or Duplicate (or New when duplicates continue). */
async function sortVerdicts(items: INodeExecutionData[], settings: DedupeSettings, checks: LeadCheck[], verdicts: Verdict[], isExClient: ((lead: LeadFields) => Promise<boolean>) | undefined, outputs: DedupeOutputs): Promise<void> {
	const marker = settings.checkOnly ? { dedupeCheckOnly: true } : {};
	for (const [i, { itemIndex, lead }] of checks.entries()) {
		const json = items[itemIndex].json;
		const pairedItem = { item: itemIndex };
		const verdict = verdicts[i];
		if (verdict.duplicate) {
			const out = { json: { ...json, isDuplicate: true, duplicateOf: verdict.duplicateOf, matchedOn: verdict.matchedOn, reason: verdict.reason, ...marker }, pairedItem };
			(settings.onDuplicate === 'continue' ? outputs.fresh : outputs.duplicates).push(out);
			continue;
		}
		const exClient = isExClient ? await isExClient(lead) : false;
		outputs.fresh.push({
			json: {
				...json,
				isDuplicate: false,
				opportunityId: verdict.opportunityId,
				leadId: verdict.leadId,
				isNewProfile: verdict.isNewProfile,
				...(exClient ? { tags: ['ex-client'], scoreBonus: settings.bonus } : {}),
				...marker,
			},
			pairedItem,
		});
	}
}

export class Dedupe implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Dedupe Leads',
		name: 'dedupe',
		icon: { light: 'file:dedupe.svg', dark: 'file:dedupe.dark.svg' },
		group: ['transform'],
		version: [1, 2],
		defaultVersion: 2,
		subtitle: '={{ $parameter["store"] ? $parameter["store"] + " · " + $parameter["namespace"] : ($parameter["options"].namespace || "Pipeline Settings") }}',
		description: 'Find duplicate leads across workflows and instances (phone, email, name + destination within a window) and record originals',
		defaults: { name: 'Dedupe Leads' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: [NodeConnectionTypes.Main, NodeConnectionTypes.Main],
		outputNames: ['New', 'Duplicate'],
		credentials: [
			// A database credential, named as the project names it (the rule only knows n8n's own Redis).
			// eslint-disable-next-line n8n-nodes-base/node-class-description-credentials-name-unsuffixed
			{ name: 'leadPipelineRedis', required: true, testedBy: 'leadPipelineRedisConnectionTest', displayOptions: { hide: { store: ['mongodb'] } } },
			// Only version 1 with Store = MongoDB; v2 reads MongoDB from the Redis credential's Pipeline Settings.
			{ name: 'leadPipelineMongo', required: true, testedBy: 'leadPipelineMongoConnectionTest', displayOptions: { show: { store: ['mongodb'], '@version': [1] } } },
		],
		properties: dedupeProperties,
	};

	methods = { credentialTest: { ...redisCredentialTestMethods, ...mongoCredentialTestMethods } };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const settings = dedupeSettings(this);
		const { store, redis, namespaceOf, timeZone, close } = await openStore(this);
		const outputs: DedupeOutputs = { fresh: [], duplicates: [] };
		try {
			const isExClient = await exClientCheck(this, redis);
			const checks = planChecks(this, items, settings, namespaceOf, outputs.fresh);
			const inputs = checks.map((c) => c.input);
			const verdicts = settings.checkOnly ? await store.checkOnlyMany(inputs) : await store.checkAndRecordMany(inputs);
			if (!settings.checkOnly) await countVerdicts(this, redis, settings.options, timeZone, checks, verdicts);
			await sortVerdicts(items, settings, checks, verdicts, isExClient, outputs);
			const order = (item: INodeExecutionData) => (item.pairedItem as { item: number }).item;
			outputs.fresh.sort((a, b) => order(a) - order(b));
		} finally {
			await close();
		}
		return [outputs.fresh, outputs.duplicates];
	}
}
