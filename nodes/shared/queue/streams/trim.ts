import type Redis from 'ioredis';

export interface TrimOptions {
	/**
	 * Cap the stream at about this many entries; 0 or undefined = no cap (the default for lead
	 * streams). Only entries every consumer group has already acknowledged are ever trimmed.
	 */
	maxLen?: number;
	/** `~` (whole macro nodes, cheap) instead of an exact cap. */
	approximate?: boolean;
}

// Trims a stream towards its cap without touching anything a consumer group still needs. The
// floor is the oldest entry that some group has pending (XPENDING summary) or not yet delivered
// (the first entry after its last-delivered-id). Only entries older than the floor may go; a stream
// with no group has delivered nothing, so nothing goes. When the cap's cut lies below the floor the
// plain MAXLEN trim is safe; otherwise MINID at the floor trims as much as is safe. One script, so
// no group can move between computing the floor and trimming.
const SAFE_TRIM_SCRIPT = `
local cap = tonumber(ARGV[1])
local len = redis.call('XLEN', KEYS[1])
if len <= cap then return 0 end
local groups = redis.call('XINFO', 'GROUPS', KEYS[1])
if #groups == 0 then return 0 end
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function older(a, b)
  local am, as = parse(a)
  local bm, bs = parse(b)
  return am < bm or (am == bm and as < bs)
end
local floor = nil
for _, g in ipairs(groups) do
  local name, last
  for i = 1, #g, 2 do
    if g[i] == 'name' then name = g[i + 1] end
    if g[i] == 'last-delivered-id' then last = g[i + 1] end
  end
  local summary = redis.call('XPENDING', KEYS[1], name)
  if tonumber(summary[1]) > 0 and (floor == nil or older(summary[2], floor)) then floor = summary[2] end
  local undelivered = redis.call('XRANGE', KEYS[1], '(' .. last, '+', 'COUNT', 1)
  if #undelivered > 0 and (floor == nil or older(undelivered[1][1], floor)) then floor = undelivered[1][1] end
end
if floor == nil then return redis.call('XTRIM', KEYS[1], 'MAXLEN', ARGV[2], cap) end
local excess = len - cap
local removable = redis.call('XRANGE', KEYS[1], '-', '(' .. floor, 'COUNT', excess)
if #removable == excess then return redis.call('XTRIM', KEYS[1], 'MAXLEN', ARGV[2], cap) end
if #removable == 0 then return 0 end
return redis.call('XTRIM', KEYS[1], 'MINID', ARGV[2], floor)
`;

export function hasCap(trim: TrimOptions | undefined): trim is TrimOptions & { maxLen: number } {
	return Boolean(trim?.maxLen && trim.maxLen > 0);
}

/** Trims `stream` towards `trim.maxLen`, never below what a group still needs. Returns entries removed. */
export async function trimSafely(redis: Redis, stream: string, trim: TrimOptions | undefined): Promise<number> {
	if (!hasCap(trim)) return 0;
	const mode = trim.approximate === false ? '=' : '~';
	return Number(await redis.eval(SAFE_TRIM_SCRIPT, 1, stream, Math.floor(trim.maxLen), mode));
}
