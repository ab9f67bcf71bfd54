import { type IDataObject, type IExecuteFunctions, type INodeExecutionData, type INodeType, type INodeTypeDescription, NodeConnectionTypes, NodeOperationError } from 'n8n-workflow';

import { metricsScope, recordMetrics } from '../common/metricsOptions';
import { openPipeline, type OpenPipeline } from '../common/pipelineSettings';
import { redisCredentialTestMethods } from '../common/redisCredentialTest';
import { channelOfItem, leadOfItem, parseList, parseSourceWeights, roundRobinPick, scoreLead, unmetCriteria, allowedNext, checkTransition, qualifiedStage } from '../shared/lead';
import { COUNTER, type DecisionEvent } from '../shared/metrics';
import { type StoredOpportunity, isPushed } from '../shared/store';
import { buildSyncMessage, handOffOnce, handoffRequestOf, type HandoffOutcome } from '../shared/crm';
import { qualifyProperties } from './description';
import { failedItem } from '../common/failedItem';

/** One item's result: which output (0 = Done/Qualified, 1 = Rejected/Not Qualified) and its JSON. */
type Outcome = [0 | 1, IDataObject];

interface ItemContext {
	ctx: IExecuteFunctions;
	pipeline: OpenPipeline;
	itemIndex: number;
	json: IDataObject;
	opportunity: StoredOpportunity;
	opportunityId: string;
	traceId: string;
	by: string;
	testRun: boolean;
	/** Decisions to count once the batch is done (stage moves, promotions). */
	events: DecisionEvent[];
}

const rejected = (json: IDataObject, fields: IDataObject): Outcome => [1, { ...json, ...fields }];

/** Promotion to the sync queue (once per opportunity), shared by Qualify and a move to the qualified stage. */
async function promote(c: ItemContext, stage: string): Promise<IDataObject> {
	const process = c.opportunity.filtrationProcess!;
	const syncMessage = buildSyncMessage({ opportunityId: c.opportunityId, traceId: c.traceId, action: 'PROMOTE_FROM_FILTER', source: process });
	const request = handoffRequestOf(syncMessage, { namespace: c.pipeline.settings.namespace, stage, by: c.by });
	const [outcome]: HandoffOutcome[] = await handOffOnce(c.pipeline.store, c.pipeline.redis, c.pipeline.settings.syncQueue, [request]);
	if (outcome.status === 'sent' || outcome.status === 'alreadySent') {
		c.events.push({ traceId: c.traceId, counter: COUNTER.qualified, labels: { process } });
	}
	if (outcome.status === 'sent') return { stage, promotedAt: outcome.promotedAt, syncEntryId: outcome.entryId };
	if (outcome.status === 'alreadySent') return { stage, promotedAt: outcome.promotedAt, syncQueued: 'already' };
	const message = outcome.status === 'busy' ? 'another execution is promoting this opportunity right now' : outcome.error.message;
	throw new NodeOperationError(c.ctx.getNode(), `Could not promote opportunity ${c.opportunityId} to the sync queue: ${message}`, {
		itemIndex: c.itemIndex,
		description: 'Retry later (the stream consumer retries the batch); the opportunity is promoted once.',
	});
}

async function transitionStage(c: ItemContext): Promise<Outcome> {
	const to = String(c.ctx.getNodeParameter('toStage', c.itemIndex)).trim().toUpperCase();
	const strict = c.ctx.getNodeParameter('strict', c.itemIndex, true) as boolean;
	const opp = c.opportunity;
	const process = opp.filtrationProcess;
	const target = process ? qualifiedStage(process) : undefined;
	if (opp.stage === to && !isPushed(opp)) {
		// A redelivery of a move already made (a promotion still to confirm is finished below).
		if (to !== target || c.testRun) return [0, { ...c.json, stage: to, changed: false }];
		return [0, { ...c.json, ...(await promote(c, to)), changed: false }];
	}
	const check = checkTransition({ process, stage: opp.stage, pushed: isPushed(opp) }, to, strict);
	if (!check.ok) return rejected(c.json, { rejected: { from: check.from, to: check.to, allowed: check.allowed, reason: check.reason } });
	if (c.testRun) return [0, { ...c.json, stage: to, changed: true, testRun: true }];
	const result = await c.pipeline.store.transitionStage(c.pipeline.settings.namespace, c.opportunityId, { by: c.by, traceId: c.traceId, from: opp.stage, to });
	if (!result.ok) {
		const fresh = result.opportunity;
		const allowed = fresh ? allowedNext({ process: fresh.filtrationProcess, stage: fresh.stage, pushed: isPushed(fresh) }, strict) : [];
		const reason = result.reason === 'conflict' ? `the stage changed meanwhile (now ${fresh?.stage}); reload and retry` : result.reason === 'pushed' ? 'the opportunity is already in the CRM and cannot change here' : 'the opportunity is missing';
		return rejected(c.json, { rejected: { from: fresh?.stage ?? opp.stage, to, allowed, reason } });
	}
	c.events.push({ traceId: c.traceId, counter: COUNTER.stage, labels: { from: opp.stage, to } });
	const promoted = to === target ? await promote(c, to) : {};
	return [0, { ...c.json, stage: to, changed: result.changed, ...promoted }];
}

async function qualify(c: ItemContext): Promise<Outcome> {
	const opp = c.opportunity;
	const process = opp.filtrationProcess;
	const lead = leadOfItem(c.json);
	let weights: Record<string, number>;
	try {
		weights = parseSourceWeights(c.ctx.getNodeParameter('sourceWeights', c.itemIndex, '') as string);
	} catch (error) {
		throw new NodeOperationError(c.ctx.getNode(), (error as Error).message, { itemIndex: c.itemIndex });
	}
	const score = scoreLead(channelOfItem(c.json) ?? (opp.channel as string | undefined), c.json.scoreBonus, weights);
	const criteria = {
		requiredFields: parseList(String(c.ctx.getNodeParameter('requiredFields', c.itemIndex, ''))),
		requireDestination: c.ctx.getNodeParameter('requireDestination', c.itemIndex, true) as boolean,
		requireSalesPerson: c.ctx.getNodeParameter('requireSalesPerson', c.itemIndex, false) as boolean,
		minScore: c.ctx.getNodeParameter('minScore', c.itemIndex, 0) as number,
	};
	const salesPerson = (opp.salesPerson as string | undefined) ?? (c.json.salesPerson as string | undefined);
	let facts: Record<string, unknown> = { ...opp, ...lead };
	// Called by opportunity id alone (an agent's webhook), the item has no name or phone: those live
	// on the person behind the opportunity, read only when a required field is not on the item.
	if (criteria.requiredFields.some((field) => facts[field] === undefined || facts[field] === '') && opp.leadId) {
		const profile = await c.pipeline.store.getProfile(c.pipeline.settings.namespace, opp.leadId);
		if (profile) facts = { ...profile, ...facts };
	}
	const unmet = unmetCriteria({ process, lead: facts, destination: lead.destination ?? (opp.destination as string | undefined), salesPerson, score }, criteria);
	const target = process ? qualifiedStage(process) : undefined;
	if (!process) unmet.push('the opportunity has not been routed yet: run Filter Router first');
	else if (!target) unmet.push(`${process} opportunities go to the CRM directly and are not qualified here`);
	else if (opp.stage !== target) {
		// Qualifying may skip forward (a bot qualifies a fresh lead), never backwards or after a push.
		const check = checkTransition({ process, stage: opp.stage, pushed: isPushed(opp) }, target, false);
		if (!check.ok) unmet.push(check.reason);
	}
	if (unmet.length) return [1, { ...c.json, qualified: false, score, unmet }];
	if (c.testRun) return [0, { ...c.json, qualified: true, score, stage: target, testRun: true }];
	const promoted = await promote(c, target!);
	if (opp.stage !== target) c.events.push({ traceId: c.traceId, counter: COUNTER.stage, labels: { from: opp.stage, to: target! } });
	return [0, { ...c.json, qualified: true, score, ...promoted }];
}

async function assignSalesPerson(c: ItemContext): Promise<Outcome> {
	const opp = c.opportunity;
	const reassign = c.ctx.getNodeParameter('reassign', c.itemIndex, false) as boolean;
	if (opp.salesPerson && !reassign) return [0, { ...c.json, salesPerson: opp.salesPerson, changed: false }];
	if (isPushed(opp)) return rejected(c.json, { rejected: { reason: 'the opportunity is already in the CRM and cannot change here' } });
	let person: string | undefined;
	if (c.ctx.getNodeParameter('assignFrom', c.itemIndex, 'list') === 'item') {
		person = String(c.ctx.getNodeParameter('salesPerson', c.itemIndex, '') ?? '').trim() || undefined;
	} else {
		const list = parseList(String(c.ctx.getNodeParameter('salesPeople', c.itemIndex, '')));
		if (!list.length) throw new NodeOperationError(c.ctx.getNode(), 'Sales People is empty', { itemIndex: c.itemIndex, description: 'List the sales people to rotate over, comma-separated.' });
		const key = `${c.pipeline.settings.namespace}:salesRoundRobin:${String(c.ctx.getNodeParameter('rotation', c.itemIndex, 'default'))}`;
		// The counter lives in Redis, shared by every execution; a test run only peeks at the next pick.
		const n = c.testRun ? Number((await c.pipeline.redis.get(key)) ?? 0) + 1 : await c.pipeline.redis.incr(key);
		person = roundRobinPick(list, n);
	}
	if (!person) return rejected(c.json, { rejected: { reason: 'no sales person given' } });
	if (c.testRun) return [0, { ...c.json, salesPerson: person, changed: true, testRun: true }];
	const result = await c.pipeline.store.assignSalesPerson(c.pipeline.settings.namespace, c.opportunityId, { by: c.by, traceId: c.traceId, salesPerson: person, allowPushed: false });
	if (!result.ok) return rejected(c.json, { rejected: { reason: 'the opportunity is already in the CRM and cannot change here' } });
	return [0, { ...c.json, salesPerson: person, changed: result.changed }];
}

const OPERATIONS = { transitionStage, qualify, assignSalesPerson };

export class Qualify implements INodeType {
	description: INodeTypeDescription = {
		displayName: 'Qualify',
		name: 'qualify',
		icon: { light: 'file:qualify.svg', dark: 'file:qualify.dark.svg' },
		group: ['transform'],
		version: 1,
		subtitle: '={{ $parameter["operation"] }}',
		description: 'Move opportunities through their stages, qualify and promote them to the sync queue once, assign sales people — audited in the lead store',
		defaults: { name: 'Qualify' },
		usableAsTool: true,
		inputs: [NodeConnectionTypes.Main],
		outputs: `={{ $parameter["operation"] === "qualify" ? [{ "type": "main", "displayName": "Qualified" }, { "type": "main", "displayName": "Not Qualified" }] : [{ "type": "main", "displayName": "Done" }, { "type": "main", "displayName": "Rejected" }] }}`,
		credentials: [
			// A database credential, named as the project names it (the rule only knows n8n's own Redis).
			// eslint-disable-next-line n8n-nodes-base/node-class-description-credentials-name-unsuffixed
			{ name: 'leadPipelineRedis', required: true, testedBy: 'leadPipelineRedisConnectionTest' },
		],
		properties: qualifyProperties,
	};

	methods = { credentialTest: redisCredentialTestMethods };

	async execute(this: IExecuteFunctions): Promise<INodeExecutionData[][]> {
		const items = this.getInputData();
		const operation = this.getNodeParameter('operation', 0) as keyof typeof OPERATIONS;
		// Editor test runs read the store to show the outcome, but write nothing and send nothing.
		const testRun = this.getMode() === 'manual';
		const out: INodeExecutionData[][] = [[], []];
		const pipeline = await openPipeline(this);
		const events: DecisionEvent[] = [];
		try {
			for (let itemIndex = 0; itemIndex < items.length; itemIndex++) {
				const json = items[itemIndex].json;
				const pairedItem = { item: itemIndex };
				try {
					const opportunityId = String(this.getNodeParameter('opportunityId', itemIndex, '') ?? '').trim();
					if (!opportunityId) throw new NodeOperationError(this.getNode(), `Item ${itemIndex} has no opportunity id`, { itemIndex, description: 'Put Dedupe Leads and Filter Router before Qualify, or set Opportunity ID.' });
					const opportunity = await pipeline.store.getOpportunity(pipeline.settings.namespace, opportunityId);
					if (!opportunity) throw new NodeOperationError(this.getNode(), `No opportunity ${opportunityId} in namespace ${pipeline.settings.namespace}`, { itemIndex, description: 'Check the namespace in the Pipeline Settings, or that Dedupe Leads recorded this lead.' });
					const traceId = leadOfItem(json).traceId ?? opportunity.traceId;
					const by = String(this.getNodeParameter('changedBy', itemIndex, 'n8n') || 'n8n');
					const [output, result] = await OPERATIONS[operation]({ ctx: this, pipeline, itemIndex, json, opportunity, opportunityId, traceId, by, testRun, events });
					out[output].push({ json: testRun ? { ...result, testRun: true } : result, pairedItem });
				} catch (error) {
					if (!this.continueOnFail()) throw error instanceof NodeOperationError ? error : new NodeOperationError(this.getNode(), error as Error, { itemIndex });
					out[1].push(failedItem(this, json, (error as Error).message, pairedItem));
				}
			}
		} finally {
			// Also when an item failed the batch: the moves made before it happened in the store, and
			// their redelivery is seen as "already there", so it would not count them.
			const options = this.getNodeParameter('options', 0, {}) as IDataObject;
			await recordMetrics(this.logger, pipeline.redis, metricsScope(this.getMode(), options, pipeline.settings), events);
			await pipeline.close();
		}
		return out;
	}
}
