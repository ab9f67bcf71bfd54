import { MongoClient, MongoServerError, type Collection, type Db } from 'mongodb';

import { type FiltrationProcess, newTraceId } from '../lead';
import {
	checkOnlyVerdicts,
	duplicateReason,
	MATCH_ORDER,
	type ActiveOpportunity,
	type CheckInput,
	type CheckOnlyLookup,
	type LeadStore,
	type MatchKind,
	type Verdict,
} from './contract';
import type { AuditEntry, StoredOpportunity, StoredProfile } from './types';
import { OpportunityStore } from './opportunityStore';

/** One lead's dedupe check in progress: its keys (in match order), when, and how long they are held. */
interface IdentityCheck {
	input: CheckInput;
	verdictId: string;
	now: Date;
	expiresAt: Date;
	kinds: MatchKind[];
	ids: string[];
}

interface IdentityDoc {
	_id: string;
	ref: { traceId: string; opportunityId: string };
	expiresAt: Date;
}
interface VerdictDoc {
	_id: string;
	verdict: Verdict;
	expiresAt: Date;
}
interface ProfileDoc {
	_id: string;
	namespace: string;
	phone?: string;
	waId?: string;
	email?: string;
	name?: string;
	channel?: string;
	destination?: string;
	activeOpportunityIds?: string[];
	createdAt: string;
	updatedAt: string;
}
interface OpportunityDoc extends Omit<StoredOpportunity, 'opportunityId'> {
	_id: string;
	namespace: string;
	opportunityId: string;
	/** Revision for compare-and-set; absent on a fresh document (= 0). */
	_rev?: number;
	/** Audit entries, embedded so they are written atomically with the change. */
	_audit?: AuditEntry[];
}

const INTERNAL = ['_id', 'namespace', '_rev', '_audit'];

const DUPLICATE_KEY = 11000;
const isDuplicateKey = (error: unknown) => error instanceof MongoServerError && error.code === DUPLICATE_KEY;

/**
 * The lead store on MongoDB. No multi-document transactions: unique _ids and a unique partial
 * index decide races (error 11000 = "someone else won"), and every write is an upsert with
 * $setOnInsert so a redelivery changes nothing. TTL indexes expire dedupe keys; TTL deletion runs
 * about once a minute, so reads also check expiresAt.
 */
export class MongoLeadStore extends OpportunityStore implements LeadStore {
	private readonly identities: Collection<IdentityDoc>;

	private readonly verdicts: Collection<VerdictDoc>;

	private readonly profiles: Collection<ProfileDoc>;

	private readonly opportunities: Collection<OpportunityDoc>;

	private readonly duplicates: Collection;

	private indexes: Promise<unknown> | undefined;

	constructor(
		private readonly client: MongoClient,
		db: Db,
	) {
		super();
		this.identities = db.collection('dedupeKeys');
		this.verdicts = db.collection('dedupeVerdicts');
		this.profiles = db.collection('leadProfiles');
		this.opportunities = db.collection('opportunities');
		this.duplicates = db.collection('duplicateLeads');
	}

	static async connect(uri: string, database: string): Promise<MongoLeadStore> {
		const client = await new MongoClient(uri, { serverSelectionTimeoutMS: 5_000 }).connect();
		return new MongoLeadStore(client, client.db(database));
	}

	/** Indexes are created on first use (createIndex is a no-op when they exist). */
	private async ready(): Promise<void> {
		this.indexes ??= Promise.all([
			this.identities.createIndex({ expiresAt: 1 }, { expireAfterSeconds: 0 }),
			this.verdicts.createIndex({ expiresAt: 1 }, { expireAfterSeconds: 0 }),
			this.profiles.createIndex(
				{ namespace: 1, phone: 1 },
				{ unique: true, partialFilterExpression: { phone: { $type: 'string' } } },
			),
			this.opportunities.createIndex({ namespace: 1, traceId: 1 }, { unique: true }),
		]);
		await this.indexes;
	}

	private async liveIdentity(id: string, now: Date): Promise<IdentityDoc | null> {
		return await this.identities.findOne({ _id: id, expiresAt: { $gt: now } });
	}

	/** Stores the verdict unless one exists, and returns whichever is stored. */
	private async settle(id: string, verdict: Verdict, expiresAt: Date): Promise<Verdict> {
		await this.verdicts.updateOne({ _id: id }, { $setOnInsert: { verdict, expiresAt } }, { upsert: true }).catch((error) => {
			if (!isDuplicateKey(error)) throw error;
		});
		return (await this.verdicts.findOne({ _id: id }))?.verdict ?? verdict;
	}

	async checkAndRecord(input: CheckInput): Promise<Verdict> {
		await this.ready();
		const now = new Date();
		const verdictId = `${input.namespace}:${input.traceId}`;
		const earlier = await this.verdicts.findOne({ _id: verdictId });
		if (earlier) return earlier.verdict;
		const expiresAt = new Date(now.getTime() + input.windowSeconds * 1000);
		const kinds = MATCH_ORDER.filter((kind) => input.keys[kind]);
		const check: IdentityCheck = { input, verdictId, now, expiresAt, kinds, ids: kinds.map((kind) => `${input.namespace}:${kind}:${input.keys[kind]}`) };
		for (let i = 0; i < check.ids.length; i++) {
			const holder = await this.liveIdentity(check.ids[i], now);
			if (holder && holder.ref.traceId !== input.traceId) return await this.recordDuplicate(check, i, holder);
		}
		const ref = { traceId: input.traceId, opportunityId: `opp_${input.traceId}` };
		const lost = await this.claimIdentities(check, ref);
		if (lost) return lost;
		const { leadId, isNewProfile } = await this.recordOpportunity(input, ref, now);
		return await this.settle(verdictId, { duplicate: false, traceId: input.traceId, opportunityId: ref.opportunityId, leadId, isNewProfile }, new Date(expiresAt.getTime() + 86_400_000));
	}

	/** The lead is a duplicate of the holder of its i-th key: the verdict is kept and the duplicate logged. */
	private async recordDuplicate(check: IdentityCheck, index: number, holder: IdentityDoc): Promise<Verdict> {
		const { input } = check;
		const verdict: Verdict = {
			duplicate: true,
			traceId: input.traceId,
			duplicateOf: holder.ref,
			matchedOn: check.kinds[index],
			reason: duplicateReason(check.kinds[index], holder.ref.traceId),
		};
		const stored = await this.settle(check.verdictId, verdict, new Date(check.expiresAt.getTime() + 86_400_000));
		await this.duplicates.insertOne({ namespace: input.namespace, ...verdict, at: check.now });
		return stored;
	}

	/** Takes every key for the lead; a key another lead took meanwhile makes it that lead's duplicate. */
	private async claimIdentities(check: IdentityCheck, ref: IdentityDoc['ref']): Promise<Verdict | undefined> {
		const { input, ids, now, expiresAt } = check;
		for (let i = 0; i < ids.length; i++) {
			try {
				// Takes the key if it is free or expired; a live key held by another lead is left alone.
				await this.identities.updateOne(
					{ _id: ids[i], $or: [{ expiresAt: { $lte: now } }, { 'ref.traceId': input.traceId }] },
					{ $set: { ref, expiresAt } },
					{ upsert: true },
				);
			} catch (error) {
				if (!isDuplicateKey(error)) throw error;
				// Another lead took it between our check and our claim: it is the original.
				await this.identities.deleteMany({ _id: { $in: ids.slice(0, i) }, 'ref.traceId': input.traceId });
				const holder = await this.liveIdentity(ids[i], now);
				if (holder) return await this.recordDuplicate(check, i, holder);
				throw error;
			}
		}
		return undefined;
	}

	/** The original's opportunity (created once) and its person's profile. */
	private async recordOpportunity(input: CheckInput, ref: IdentityDoc['ref'], now: Date): Promise<{ leadId: string; isNewProfile: boolean }> {
		// Redelivered after its verdict expired: the opportunity (stage, process, CRM state) stays as it is.
		const existing = await this.opportunities.findOne({ _id: `${input.namespace}:${ref.opportunityId}` }, { projection: { leadId: 1 } });
		const { leadId, isNewProfile } = existing ? { leadId: String(existing.leadId), isNewProfile: false } : await this.findOrCreateProfile(input, now);
		await this.opportunities.updateOne(
			{ _id: `${input.namespace}:${ref.opportunityId}` },
			{
				$setOnInsert: {
					namespace: input.namespace,
					opportunityId: ref.opportunityId,
					traceId: input.traceId,
					leadId,
					channel: input.lead.channel,
					destination: input.lead.destination,
					stage: 'NEW',
					createdAt: now.toISOString(),
					updatedAt: now.toISOString(),
				},
			},
			{ upsert: true },
		);
		return { leadId, isNewProfile };
	}

	async checkAndRecordMany(inputs: CheckInput[]): Promise<Verdict[]> {
		const verdicts: Verdict[] = [];
		for (const input of inputs) verdicts.push(await this.checkAndRecord(input));
		return verdicts;
	}

	async checkOnlyMany(inputs: CheckInput[]): Promise<Verdict[]> {
		await this.ready();
		const now = new Date();
		const lookups: CheckOnlyLookup[] = [];
		for (const input of inputs) {
			const earlier = (await this.verdicts.findOne({ _id: `${input.namespace}:${input.traceId}` }))?.verdict;
			const holders = [];
			for (const kind of MATCH_ORDER.filter((k) => input.keys[k])) {
				holders.push((await this.liveIdentity(`${input.namespace}:${kind}:${input.keys[kind]}`, now))?.ref ?? null);
			}
			const profile = input.lead.phone ? await this.profiles.findOne({ namespace: input.namespace, phone: input.lead.phone }, { projection: { _id: 1 } }) : null;
			lookups.push({ earlier, holders, profileId: profile ? String(profile._id) : undefined });
		}
		return checkOnlyVerdicts(inputs, lookups);
	}

	private async findOrCreateProfile(input: CheckInput, now: Date): Promise<{ leadId: string; isNewProfile: boolean }> {
		const candidate = `lead_${newTraceId()}`;
		const profile = { namespace: input.namespace, ...input.lead, createdAt: now.toISOString(), updatedAt: now.toISOString() };
		if (!input.lead.phone) {
			await this.profiles.insertOne({ _id: candidate, ...profile });
			return { leadId: candidate, isNewProfile: true };
		}
		for (let attempt = 0; ; attempt++) {
			try {
				// Concurrent upserts on one unique key can both miss and one fails with 11000: retry once.
				const doc = await this.profiles.findOneAndUpdate(
					{ namespace: input.namespace, phone: input.lead.phone },
					{ $setOnInsert: { _id: candidate, ...profile } },
					{ upsert: true, returnDocument: 'after' },
				);
				return { leadId: String(doc?._id ?? candidate), isNewProfile: doc?._id === candidate };
			} catch (error) {
				if (!isDuplicateKey(error) || attempt > 0) throw error;
			}
		}
	}

	async getOpportunity(namespace: string, opportunityId: string): Promise<StoredOpportunity | null> {
		return (await this.readVersioned(namespace, opportunityId))?.doc ?? null;
	}

	protected async readVersioned(namespace: string, opportunityId: string): Promise<{ doc: StoredOpportunity; version: unknown } | null> {
		const raw = await this.opportunities.findOne({ _id: `${namespace}:${opportunityId}` });
		if (!raw) return null;
		const doc: Record<string, unknown> = { ...raw };
		for (const field of INTERNAL) delete doc[field];
		return { doc: doc as StoredOpportunity, version: raw._rev ?? 0 };
	}

	protected async writeIfUnchanged(namespace: string, opportunityId: string, version: unknown, next: StoredOpportunity, audit?: AuditEntry): Promise<boolean> {
		const rev = version as number;
		const set: Record<string, unknown> = { ...next };
		for (const field of INTERNAL) delete set[field];
		const current = await this.getOpportunity(namespace, opportunityId);
		const unset = Object.fromEntries(Object.keys(current ?? {}).filter((k) => !(k in set)).map((k) => [k, '']));
		const update: Record<string, unknown> = { $set: { ...set, _rev: rev + 1 } };
		if (Object.keys(unset).length) update.$unset = unset;
		if (audit) update.$push = { _audit: audit };
		const before = await this.opportunities.findOneAndUpdate(
			{ _id: `${namespace}:${opportunityId}`, ...(rev === 0 ? { _rev: { $exists: false } } : { _rev: rev }) } as never,
			update as never,
		);
		return before !== null;
	}

	async auditTrail(namespace: string, opportunityId: string): Promise<AuditEntry[]> {
		const doc = await this.opportunities.findOne({ _id: `${namespace}:${opportunityId}` }, { projection: { _audit: 1 } });
		return doc?._audit ?? [];
	}

	async updateOpportunity(namespace: string, opportunityId: string, fields: Partial<StoredOpportunity>): Promise<void> {
		const changed: Record<string, unknown> = { ...fields, updatedAt: new Date().toISOString() };
		delete changed.opportunityId;
		delete changed.traceId;
		// Bumps the revision so a compare-and-set racing with this update notices it.
		const result = await this.opportunities.updateOne({ _id: `${namespace}:${opportunityId}` }, { $set: changed, $inc: { _rev: 1 } } as never);
		if (result.matchedCount !== 1) throw new Error(`No opportunity ${opportunityId} in ${namespace}`);
	}

	async addActiveOpportunity(namespace: string, leadId: string, opportunityId: string, process: FiltrationProcess): Promise<boolean> {
		if (process === 'UNKNOWN') return false;
		await this.profiles.updateOne({ _id: leadId, namespace }, { $addToSet: { activeOpportunityIds: opportunityId } });
		return true;
	}

	async addActiveOpportunities(namespace: string, entries: ActiveOpportunity[]): Promise<boolean[]> {
		return await Promise.all(entries.map((e) => this.addActiveOpportunity(namespace, e.leadId, e.opportunityId, e.process)));
	}

	async activeOpportunities(namespace: string, leadId: string): Promise<string[]> {
		const doc = await this.profiles.findOne({ _id: leadId, namespace });
		return (doc?.activeOpportunityIds ?? []).slice().sort();
	}

	async getProfile(namespace: string, leadId: string): Promise<StoredProfile | null> {
		const doc = await this.profiles.findOne({ _id: leadId, namespace });
		if (!doc) return null;
		return { leadId: doc._id, phone: doc.phone, waId: doc.waId, email: doc.email, name: doc.name, createdAt: doc.createdAt, updatedAt: doc.updatedAt };
	}

	async close(): Promise<void> {
		await this.client.close();
	}
}
