import type Redis from 'ioredis';

import type { FiltrationProcess } from '../lead';
import { APPEND_WITHIN_CAP_LUA } from '../streams';
import { newTraceId } from '../trace';
import {
	checkOnlyVerdicts,
	duplicateReason,
	MATCH_ORDER,
	type CheckInput,
	type CheckOnlyLookup,
	type LeadStore,
	type MatchKind,
	type StoredOpportunity,
	type StoredProfile,
	type Verdict,
} from './contract';
import type { AuditEntry } from './opportunityOps';
import { OpportunityStore, type VersionedWrite } from './opportunityStore';
import { batchedLuaScript, evalScriptBatched, type ScriptCall } from '../redisScripts';

/**
 * Most entries the `<namespace>:duplicates` audit log holds. At the cap new duplicates are still
 * detected but no longer logged; nothing already logged is deleted (streams module rule for streams
 * no group reads). Read or XTRIM the log to make room.
 */
export const DUPLICATES_LOG_CAP = 100_000;

// One atomic step per lead: replay of an earlier verdict, else the first identity key already
// taken (a duplicate, logged for audit with the streams module's capped append in this same step,
// so a verdict is never stored without its log line and a redelivery never logs it twice), else
// profile find-or-create by phone, the opportunity and the identity keys (TTL = dedupe window). Keys derive from the namespace inside the script, so a
// namespace must live on one Redis node (no cluster slot spreading).
const CHECK_AND_RECORD = batchedLuaScript(APPEND_WITHIN_CAP_LUA, `
local ns, traceId, oppId, newLeadId = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local window, verdictTtl, now = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7]
local lead = cjson.decode(ARGV[8])
local duplicatesLogCap = tonumber(ARGV[9])
-- ARGV[10..]: (kind, value) pairs in match order.
local kinds, identityKeys = {}, {}
for i = 10, #ARGV, 2 do
  kinds[#kinds + 1] = ARGV[i]
  identityKeys[#identityKeys + 1] = ns .. ':key:' .. ARGV[i] .. ':' .. ARGV[i + 1]
end
local verdictKey = ns .. ':verdict:' .. traceId
local oppKey = ns .. ':opportunity:' .. oppId
local byPhone = ns .. ':profile:phone:' .. (lead.phone or '')
-- Every read in one MGET (each redis.call costs ~1.5 µs of Redis time): the verdict, the
-- opportunity, the profile by phone, then the identity keys.
local read = redis.call('MGET', verdictKey, oppKey, byPhone, unpack(identityKeys))
local earlier, existingOpp = read[1], read[2]
if earlier then return earlier end
for i, kind in ipairs(kinds) do
  local hit = read[3 + i]
  local of = hit and cjson.decode(hit)
  -- A key held by this very lead (verdict expired before its keys) is not a duplicate of itself.
  if of and of.traceId ~= traceId then
    local verdict = cjson.encode({ duplicate = true, traceId = traceId, duplicateOf = of, matchedOn = kind })
    redis.call('SET', verdictKey, verdict, 'EX', verdictTtl)
    appendWithinCap(ns .. ':duplicates', duplicatesLogCap, cjson.encode({ traceId = traceId, duplicateOfTraceId = of.traceId,
      duplicateOfOpportunityId = of.opportunityId, matchedOn = kind, at = now }))
    return verdict
  end
end
local leadId, isNew = newLeadId, true
if existingOpp then
  -- Redelivered after its verdict expired: the opportunity (stage, process, CRM state) stays as it is.
  leadId, isNew = cjson.decode(existingOpp).leadId, false
elseif lead.phone and read[3] then
  leadId, isNew = read[3], false
end
local oppDoc = cjson.encode({ opportunityId = oppId, traceId = traceId, leadId = leadId,
  channel = lead.channel, destination = lead.destination, stage = 'NEW', createdAt = now, updatedAt = now })
if isNew then
  -- A new person: the phone index, the profile and the opportunity in one MSET.
  local profile = cjson.encode({ leadId = leadId, phone = lead.phone, waId = lead.waId, email = lead.email,
    name = lead.name, createdAt = now, updatedAt = now })
  if lead.phone then
    redis.call('MSET', byPhone, leadId, ns .. ':profile:' .. leadId, profile, oppKey, oppDoc)
  else
    redis.call('MSET', ns .. ':profile:' .. leadId, profile, oppKey, oppDoc)
  end
elseif not existingOpp then
  redis.call('SET', oppKey, oppDoc)
end
local ref = cjson.encode({ traceId = traceId, opportunityId = oppId })
for _, key in ipairs(identityKeys) do redis.call('SET', key, ref, 'EX', window) end
local verdict = cjson.encode({ duplicate = false, traceId = traceId, opportunityId = oppId, leadId = leadId, isNewProfile = isNew })
redis.call('SET', verdictKey, verdict, 'EX', verdictTtl)
return verdict
`);

const UPDATE_OPPORTUNITY = `
local raw = redis.call('GET', KEYS[1])
if not raw then return 0 end
local doc = cjson.decode(raw)
for k, v in pairs(cjson.decode(ARGV[1])) do doc[k] = v end
redis.call('SET', KEYS[1], cjson.encode(doc))
return 1
`;

// Compare-and-set on the exact stored JSON, with the audit entry in the same step.
const WRITE_IF_UNCHANGED = batchedLuaScript('', `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
if ARGV[3] ~= '' then redis.call('RPUSH', KEYS[2], ARGV[3]) end
return 1
`);

const writeCall = (namespace: string, w: VersionedWrite): ScriptCall => ({
	keys: [`${namespace}:opportunity:${w.opportunityId}`, `${namespace}:audit:${w.opportunityId}`],
	args: [w.version as string, JSON.stringify(w.next), w.audit ? JSON.stringify(w.audit) : ''],
});

export class RedisLeadStore extends OpportunityStore implements LeadStore {
	constructor(
		private readonly redis: Redis,
		private readonly ownsConnection = false,
	) {
		super();
	}

	protected async readVersioned(namespace: string, opportunityId: string): Promise<{ doc: StoredOpportunity; version: unknown } | null> {
		const raw = await this.redis.get(`${namespace}:opportunity:${opportunityId}`);
		return raw ? { doc: JSON.parse(raw) as StoredOpportunity, version: raw } : null;
	}

	protected async writeIfUnchanged(namespace: string, opportunityId: string, version: unknown, next: StoredOpportunity, audit?: AuditEntry): Promise<boolean> {
		return (await this.writeIfUnchangedMany(namespace, [{ opportunityId, version, next, audit }]))[0];
	}

	/** One MGET for the batch. */
	protected async readVersionedMany(namespace: string, opportunityIds: string[]): Promise<Array<{ doc: StoredOpportunity; version: unknown } | null>> {
		if (opportunityIds.length === 0) return [];
		const raws = await this.redis.mget(opportunityIds.map((id) => `${namespace}:opportunity:${id}`));
		return raws.map((raw) => (raw ? { doc: JSON.parse(raw) as StoredOpportunity, version: raw } : null));
	}

	/** One pipelined round trip; each write is still its own atomic compare-and-set. */
	protected async writeIfUnchangedMany(namespace: string, writes: VersionedWrite[]): Promise<boolean[]> {
		const replies = await evalScriptBatched(this.redis, WRITE_IF_UNCHANGED, writes.map((w) => writeCall(namespace, w)));
		return replies.map(([error, written]) => {
			if (error) throw error;
			return Number(written) === 1;
		});
	}

	async auditTrail(namespace: string, opportunityId: string): Promise<AuditEntry[]> {
		return (await this.redis.lrange(`${namespace}:audit:${opportunityId}`, 0, -1)).map((raw) => JSON.parse(raw) as AuditEntry);
	}

	async checkAndRecord(input: CheckInput): Promise<Verdict> {
		return (await this.checkAndRecordMany([input]))[0];
	}

	async checkAndRecordMany(inputs: CheckInput[]): Promise<Verdict[]> {
		// One clock reading per batch: the leads of a batch are recorded in the same instant.
		const now = new Date().toISOString();
		const replies = await evalScriptBatched(this.redis, CHECK_AND_RECORD, inputs.map((input) => {
			const kinds = MATCH_ORDER.filter((kind) => input.keys[kind]);
			const window = Math.max(1, Math.floor(input.windowSeconds));
			return {
				keys: [],
				args: [
					input.namespace, input.traceId, `opp_${input.traceId}`, `lead_${newTraceId()}`, window, window + 86_400,
					now, JSON.stringify(input.lead), DUPLICATES_LOG_CAP,
					...kinds.flatMap((kind) => [kind, input.keys[kind] as string]),
				],
			};
		}));
		return replies.map(([error, reply]) => {
			if (error) throw error;
			return this.verdictOf(reply as string);
		});
	}

	async checkOnlyMany(inputs: CheckInput[]): Promise<Verdict[]> {
		if (inputs.length === 0) return [];
		// Reads only (one pipelined round trip): verdict, key holders, profile by phone per lead.
		const pipeline = this.redis.pipeline();
		const kindsOf = inputs.map((input) => MATCH_ORDER.filter((kind) => input.keys[kind]));
		inputs.forEach((input, i) => {
			pipeline.get(`${input.namespace}:verdict:${input.traceId}`);
			for (const kind of kindsOf[i]) pipeline.get(`${input.namespace}:key:${kind}:${input.keys[kind]}`);
			pipeline.get(input.lead.phone ? `${input.namespace}:profile:phone:${input.lead.phone}` : `${input.namespace}:profile:phone:`);
		});
		const replies = ((await pipeline.exec()) ?? []).map(([error, reply]) => {
			if (error) throw error;
			return reply as string | null;
		});
		let at = 0;
		const lookups: CheckOnlyLookup[] = inputs.map((input, i) => {
			const earlier = replies[at++];
			const holders = kindsOf[i].map(() => {
				const hit = replies[at++];
				return hit ? (JSON.parse(hit) as { traceId: string; opportunityId: string }) : null;
			});
			const profile = replies[at++];
			return { earlier: earlier ? this.verdictOf(earlier) : undefined, holders, profileId: input.lead.phone && profile ? profile : undefined };
		});
		return checkOnlyVerdicts(inputs, lookups);
	}

	private verdictOf(reply: string): Verdict {
		const verdict = JSON.parse(reply) as Verdict & { matchedOn?: MatchKind };
		return verdict.duplicate ? { ...verdict, reason: duplicateReason(verdict.matchedOn, verdict.duplicateOf.traceId) } : verdict;
	}

	async getOpportunity(namespace: string, opportunityId: string): Promise<StoredOpportunity | null> {
		const raw = await this.redis.get(`${namespace}:opportunity:${opportunityId}`);
		return raw ? (JSON.parse(raw) as StoredOpportunity) : null;
	}

	async updateOpportunity(namespace: string, opportunityId: string, fields: Partial<StoredOpportunity>): Promise<void> {
		const changed = { ...fields, updatedAt: new Date().toISOString() };
		delete changed.opportunityId;
		delete changed.traceId;
		const found = await this.redis.eval(UPDATE_OPPORTUNITY, 1, `${namespace}:opportunity:${opportunityId}`, JSON.stringify(changed));
		if (Number(found) !== 1) throw new Error(`No opportunity ${opportunityId} in ${namespace}`);
	}

	async addActiveOpportunity(namespace: string, leadId: string, opportunityId: string, process: FiltrationProcess): Promise<boolean> {
		if (process === 'UNKNOWN') return false;
		await this.redis.sadd(`${namespace}:profile:${leadId}:active`, opportunityId);
		return true;
	}

	async activeOpportunities(namespace: string, leadId: string): Promise<string[]> {
		return (await this.redis.smembers(`${namespace}:profile:${leadId}:active`)).sort();
	}

	async getProfile(namespace: string, leadId: string): Promise<StoredProfile | null> {
		const raw = await this.redis.get(`${namespace}:profile:${leadId}`);
		return raw ? (JSON.parse(raw) as StoredProfile) : null;
	}

	async close(): Promise<void> {
		if (this.ownsConnection) await this.redis.quit();
	}
}
