import type Redis from 'ioredis';

import { type FiltrationProcess, newTraceId } from '../lead';
import { APPEND_WITHIN_CAP_LUA, batchedLuaScript, evalScriptBatched, evalScriptMany, luaScript, type ScriptCall, type ScriptReply } from '../queue';
import {
	checkOnlyVerdicts,
	duplicateReason,
	MATCH_ORDER,
	type CheckInput,
	type ActiveOpportunity,
	type CheckOnlyLookup,
	type LeadStore,
	type MatchKind,
	type Verdict,
} from './contract';
import type { AuditEntry, StoredOpportunity, StoredProfile } from './types';
import { OpportunityStore, type VersionedWrite } from './opportunityStore';

/**
 * Most entries the `<namespace>:duplicates` audit log holds. At the cap new duplicates are still
 * detected but no longer logged; nothing already logged is deleted (streams module rule for streams
 * no group reads). Read or XTRIM the log to make room.
 */
export const DUPLICATES_LOG_CAP = 100_000;

// One atomic step per lead: replay of an earlier verdict, else the first identity key already
// taken (a duplicate, logged for audit with the streams module's capped append in this same step,
// so a verdict is never stored without its log line and a redelivery never logs it twice), else
// profile find-or-create by phone, the opportunity and the identity keys (TTL = dedupe window).
// A namespace must live on one Redis node (the duplicates log key derives from it in the script).
//
// Redis time is the pipeline's scarcest resource (one core runs every script), and in Lua a
// cjson.encode costs ~2 µs, a decode of the lead ~2 µs: so the client sends the new documents
// already as JSON (the opportunity without its leadId, which only the script knows; the profile;
// the identity keys' reference), and the common path joins strings. Decoding is left to the rare
// paths (a duplicate, a redelivery).
// KEYS: verdict, opportunity, profile by phone ('' without a phone), new profile, identity keys.
// ARGV: new leadId, opportunity JSON head (ends in "leadId":), profile JSON, reference JSON, match
// kinds joined by ','. SHARED (once per script run): namespace, window, verdict TTL, now, duplicates
// log cap.
const CHECK_AND_RECORD = batchedLuaScript(APPEND_WITHIN_CAP_LUA, `
local verdictKey, oppKey, byPhone, profileKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local ref = ARGV[4]
local read = redis.call('MGET', verdictKey, oppKey, byPhone ~= '' and byPhone or verdictKey, unpack(KEYS, 5))
local earlier, existingOpp = read[1], read[2]
if earlier then return earlier end
for i = 1, #KEYS - 4 do
  local hit = read[3 + i]
  -- A key held by this very lead (verdict expired before its keys) is not a duplicate of itself.
  if hit and hit ~= ref then
    local of = cjson.decode(hit)
    local traceId = cjson.decode(ref).traceId
    if of.traceId ~= traceId then
      local kind, k = nil, 0
      for name in string.gmatch(ARGV[5], '[^,]+') do
        k = k + 1
        if k == i then kind = name end
      end
      local verdict = cjson.encode({ duplicate = true, traceId = traceId, duplicateOf = of, matchedOn = kind })
      redis.call('SET', verdictKey, verdict, 'EX', SHARED[3])
      appendWithinCap(SHARED[1] .. ':duplicates', tonumber(SHARED[5]), cjson.encode({ traceId = traceId, duplicateOfTraceId = of.traceId,
        duplicateOfOpportunityId = of.opportunityId, matchedOn = kind, at = SHARED[4] }))
      return verdict
    end
  end
end
local leadId, leadIdJson, isNew = ARGV[1], '"' .. ARGV[1] .. '"', true
if existingOpp then
  -- Redelivered after its verdict expired: the opportunity (stage, process, CRM state) stays as it is.
  leadId, isNew = cjson.decode(existingOpp).leadId, false
  leadIdJson = cjson.encode(leadId)
elseif byPhone ~= '' and read[3] then
  leadId, leadIdJson, isNew = read[3], cjson.encode(read[3]), false
end
if isNew then
  -- A new person: the phone index, the profile and the opportunity in one MSET.
  if byPhone ~= '' then
    redis.call('MSET', byPhone, leadId, profileKey, ARGV[3], oppKey, ARGV[2] .. leadIdJson .. '}')
  else
    redis.call('MSET', profileKey, ARGV[3], oppKey, ARGV[2] .. leadIdJson .. '}')
  end
elseif not existingOpp then
  redis.call('SET', oppKey, ARGV[2] .. leadIdJson .. '}')
end
for i = 5, #KEYS do redis.call('SET', KEYS[i], ref, 'EX', SHARED[2]) end
local verdict = '{"duplicate":false,' .. string.sub(ref, 2, -2) .. ',"leadId":' .. leadIdJson .. ',"isNewProfile":' .. (isNew and 'true' or 'false') .. '}'
redis.call('SET', verdictKey, verdict, 'EX', SHARED[3])
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

const ADD_ACTIVE = luaScript(`
for i = 1, #KEYS do redis.call('SADD', KEYS[i], ARGV[i]) end
return #KEYS
`);
const ACTIVE_PER_RUN = 500;

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
		// Consecutive leads of one namespace and window (a whole batch in practice) share those
		// arguments. Runs, not groups: each run's script calls are written to the connection in turn,
		// so Redis still records the leads in input order.
		const runs: number[][] = [];
		let runKey = '';
		inputs.forEach((input, i) => {
			const key = `${input.namespace}\u0000${Math.max(1, Math.floor(input.windowSeconds))}`;
			if (key === runKey) runs[runs.length - 1].push(i);
			else runs.push([i]);
			runKey = key;
		});
		const replies = new Array<ScriptReply>(inputs.length);
		await Promise.all(runs.map(async (indexes) => {
			const { namespace: ns, windowSeconds } = inputs[indexes[0]];
			const window = Math.max(1, Math.floor(windowSeconds));
			const groupReplies = await evalScriptBatched(this.redis, CHECK_AND_RECORD, indexes.map((i) => this.checkCall(inputs[i], now)), [ns, window, window + 86_400, now, DUPLICATES_LOG_CAP]);
			indexes.forEach((i, k) => (replies[i] = groupReplies[k]));
		}));
		return replies.map(([error, reply]) => {
			if (error) throw error;
			return this.verdictOf(reply as string);
		});
	}

	private checkCall(input: CheckInput, now: string): ScriptCall {
		const { namespace: ns, traceId, lead } = input;
		const kinds = MATCH_ORDER.filter((kind) => input.keys[kind]);
		const opportunityId = `opp_${traceId}`;
		const leadId = `lead_${newTraceId()}`;
		// The documents' JSON, the leadId left for the script (an existing profile's, or this one).
		const oppHead = JSON.stringify({ opportunityId, traceId, channel: lead.channel, destination: lead.destination, stage: 'NEW', createdAt: now, updatedAt: now });
		const profile = { leadId, phone: lead.phone, waId: lead.waId, email: lead.email, name: lead.name, createdAt: now, updatedAt: now };
		return {
			keys: [
				`${ns}:verdict:${traceId}`, `${ns}:opportunity:${opportunityId}`, lead.phone ? `${ns}:profile:phone:${lead.phone}` : '', `${ns}:profile:${leadId}`,
				...kinds.map((kind) => `${ns}:key:${kind}:${input.keys[kind]}`),
			],
			args: [leadId, `${oppHead.slice(0, -1)},"leadId":`, JSON.stringify(profile), JSON.stringify({ traceId, opportunityId }), kinds.join(',')],
		};
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

	async addActiveOpportunities(namespace: string, entries: ActiveOpportunity[]): Promise<boolean[]> {
		// One script run per chunk instead of a command per lead: a command costs the client a
		// command object and a promise (~10 µs per lead at batch 1000 in the Filter Router).
		const active = entries.filter((e) => e.process !== 'UNKNOWN');
		const runs: ScriptCall[] = [];
		for (let at = 0; at < active.length; at += ACTIVE_PER_RUN) {
			const chunk = active.slice(at, at + ACTIVE_PER_RUN);
			runs.push({ keys: chunk.map((e) => `${namespace}:profile:${e.leadId}:active`), args: chunk.map((e) => e.opportunityId) });
		}
		for (const [error] of await evalScriptMany(this.redis, ADD_ACTIVE, runs)) if (error) throw error;
		return entries.map((e) => e.process !== 'UNKNOWN');
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
