/**
 * The Lua scripts that make a room's sequence one thing across instances.
 * Each runs atomically inside Redis, so "take the next seq, keep it in
 * history, publish it" can never interleave with another instance's publish.
 *
 * A room has these keys, hash-tagged so they share a cluster slot:
 * - meta (hash): epoch, seq, bytes (body bytes held in history)
 * - log (list): "<bodyBytes> <entry JSON>", oldest first, contiguous seqs
 * - presence (hash): instanceId -> "<count>:<expiresAtMs>"
 * - ids (hash): publish key -> "<expiresAtMs> <seq> <epoch> <hash>", and idx (sorted set): publish key by
 *   expiresAtMs, for publishes with an id (written only by them)
 * - rv (hash): instanceId -> version of its v2 roster in the room (bumped by every write of it)
 * - roster:<instanceId> (hash, one per instance): sub -> "<connections>" or "<connections> <info JSON>",
 *   that instance's subs in the room; it expires with the instance's presence lease (3 heartbeats)
 * and one pub/sub channel carrying "m <epoch> <entry JSON>", "p <instance> <count> <at>" and
 * "r <instance> <version> <changes JSON, or * to re-read>".
 * On one Redis the channel is classic pub/sub (PUBLISH); on a cluster it is a
 * shard channel (SPUBLISH), which only the room's shard carries.
 */

/** How the scripts publish: classic pub/sub on one Redis, sharded pub/sub on a cluster. */
export type PublishCommand = 'PUBLISH' | 'SPUBLISH'

/** Create the room if its meta vanished: a fresh epoch, seq 0, no history. Sets `epoch` and `seq`. */
const ENSURE = `
local meta, log = KEYS[1], KEYS[2]
local epoch = redis.call('HGET', meta, 'epoch')
if not epoch then
  local t = redis.call('TIME')
  epoch = string.format('%08x%05x', tonumber(t[1]), tonumber(t[2]))
  redis.call('DEL', log)
  redis.call('HSET', meta, 'epoch', epoch, 'seq', 0, 'bytes', 0)
end
local seq = tonumber(redis.call('HGET', meta, 'seq'))
`

/** Refresh the room's TTL (ms in `ttl`). */
const TOUCH = `
redis.call('PEXPIRE', meta, ttl)
redis.call('PEXPIRE', log, ttl)
`

/**
 * KEYS: meta, log. ARGV: channel, bodyBytes, draft JSON ("{...}" without seq),
 * maxMessages, maxBytes, ttlMs. Returns the new seq.
 *
 * With a publish key (KEYS ids, idx; ARGV key, hash, windowMs, maxIds): the
 * lookup and the append are this one script, so no two instances can both
 * append one key. A key appended within the window (in this epoch) returns
 * {its seq, 1} (same hash) or {its seq, 2} (another hash) and appends nothing;
 * otherwise the entry is appended, the key remembered, and {seq, 0} returned.
 * Each call also forgets a few expired keys, and the oldest past maxIds.
 */
const append = (pub: PublishCommand) => `${ENSURE}
local ttl = ARGV[6]
local dk, nowMs = ARGV[7], 0
if dk then
  local t = redis.call('TIME')
  nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  local v = redis.call('HGET', KEYS[3], dk)
  if v then
    local exp, was, ep, h = string.match(v, '^(%d+) (%d+) (%S+) (.*)$')
    if tonumber(exp) > nowMs and ep == epoch then
      if h == ARGV[8] then return {tonumber(was), 1} end
      return {tonumber(was), 2}
    end
  end
end
seq = redis.call('HINCRBY', meta, 'seq', 1)
local size = tonumber(ARGV[2])
local entry = '{"seq":' .. seq .. ',' .. string.sub(ARGV[3], 2)
redis.call('RPUSH', log, size .. ' ' .. entry)
local bytes = redis.call('HINCRBY', meta, 'bytes', size)
local n = redis.call('LLEN', log)
local maxN, maxB = tonumber(ARGV[4]), tonumber(ARGV[5])
if n > maxN or bytes > maxB then
  while n > maxN or (bytes > maxB and n > 0) do
    local old = redis.call('LPOP', log)
    bytes = bytes - tonumber(string.sub(old, 1, string.find(old, ' ', 1, true) - 1))
    n = n - 1
  end
  redis.call('HSET', meta, 'bytes', bytes)
end
${TOUCH}
if dk then
  local ids, idx, window = KEYS[3], KEYS[4], tonumber(ARGV[9])
  local exp = nowMs + window
  redis.call('HSET', ids, dk, exp .. ' ' .. seq .. ' ' .. epoch .. ' ' .. ARGV[8])
  redis.call('ZADD', idx, exp, dk)
  local gone = redis.call('ZRANGEBYSCORE', idx, '-inf', nowMs, 'LIMIT', 0, 64)
  if #gone > 0 then
    redis.call('HDEL', ids, unpack(gone))
    redis.call('ZREM', idx, unpack(gone))
  end
  local over = redis.call('ZCARD', idx) - tonumber(ARGV[10])
  if over > 0 then
    local oldest = redis.call('ZPOPMIN', idx, over)
    for i = 1, #oldest, 2 do redis.call('HDEL', ids, oldest[i]) end
  end
  local keep = math.max(tonumber(ttl), window)
  redis.call('PEXPIRE', ids, keep)
  redis.call('PEXPIRE', idx, keep)
end
redis.call('${pub}', ARGV[1], 'm ' .. epoch .. ' ' .. entry)
if dk then return {seq, 0} end
return seq
`

/**
 * KEYS: meta, log. ARGV: since, the caller's epoch ("" for none), ttlMs.
 * Returns {epoch, seq, element...}: the history after `since`, or all of it
 * when the caller's epoch is not the room's.
 */
export const RANGE = `${ENSURE}
local ttl = ARGV[3]
${TOUCH}
local n = redis.call('LLEN', log)
local from = 0
if ARGV[2] == '' or ARGV[2] == epoch then
  from = tonumber(ARGV[1]) + 1 - (seq - n + 1)
  if from < 0 then from = 0 end
end
local out = {epoch, seq}
if from < n then
  local items = redis.call('LRANGE', log, from, -1)
  for i = 1, #items do out[#out + 1] = items[i] end
end
return out
`

/**
 * Presence heartbeat. KEYS: meta, log, presence, rv, roster:<instanceId>. ARGV: instanceId, localCount,
 * presenceTtlMs, roomTtlMs, channel, publish ("1": announce the count on the channel).
 * Writes this instance's count with an expiry, drops other instances' expired
 * counts (and their roster versions; their rosters expire on their own), keeps the
 * room's keys and this instance's roster alive (withdraws it with a count of 0).
 * Returns {epoch, seq, at, versions, id, count, id, count...} with `at` Redis's clock
 * in microseconds, so readers can order it against "p" messages, and `versions`
 * "id:version,..." of the live instances' rosters (O(instances): no roster is read here).
 */
const beat = (pub: PublishCommand) => `${ENSURE}
local ttl = ARGV[4]
${TOUCH}
local pres, id, count, pttl = KEYS[3], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local at = t[1] .. string.format('%06d', tonumber(t[2]))
local rv, mine = KEYS[4], KEYS[5]
if count > 0 then
  redis.call('HSET', pres, id, count .. ':' .. (nowMs + pttl))
  redis.call('PEXPIRE', mine, pttl)
else
  redis.call('HDEL', pres, id)
  redis.call('DEL', mine)
  redis.call('HDEL', rv, id)
end
local out = {epoch, seq, at, ''}
local all = redis.call('HGETALL', pres)
for i = 1, #all, 2 do
  local f, v = all[i], all[i + 1]
  if f ~= id then
    local c = string.find(v, ':', 1, true)
    if tonumber(string.sub(v, c + 1)) < nowMs then
      redis.call('HDEL', pres, f)
      redis.call('HDEL', rv, f)
    else
      out[#out + 1] = f
      out[#out + 1] = string.sub(v, 1, c - 1)
    end
  end
end
if #all > 0 then redis.call('PEXPIRE', pres, pttl) end
local vs = redis.call('HGETALL', rv)
if #vs > 0 then
  local parts = {}
  for i = 1, #vs, 2 do parts[#parts + 1] = vs[i] .. ':' .. vs[i + 1] end
  out[4] = table.concat(parts, ',')
  redis.call('PEXPIRE', rv, pttl)
end
if ARGV[6] == '1' then redis.call('${pub}', ARGV[5], 'p ' .. id .. ' ' .. count .. ' ' .. at) end
return out
`

/**
 * Write this instance's part of a room's v2 roster. KEYS: rv, roster:<instanceId>. ARGV: instanceId,
 * channel, presenceTtlMs, reset ("1": replace the whole roster), message (the changes as JSON, or "*":
 * readers re-read), then sub, value pairs (value "" removes the sub). Bumps this instance's version,
 * announces "r <instance> <version> <message>" on the channel, returns the version. O(changes).
 */
const rosterWrite = (pub: PublishCommand) => `
local rv, mine, id, pttl = KEYS[1], KEYS[2], ARGV[1], tonumber(ARGV[3])
if ARGV[4] == '1' then redis.call('DEL', mine) end
for i = 6, #ARGV, 2 do
  if ARGV[i + 1] == '' then redis.call('HDEL', mine, ARGV[i]) else redis.call('HSET', mine, ARGV[i], ARGV[i + 1]) end
end
local ver = redis.call('HINCRBY', rv, id, 1)
redis.call('PEXPIRE', rv, pttl)
redis.call('PEXPIRE', mine, pttl)
redis.call('${pub}', ARGV[2], 'r ' .. id .. ' ' .. ver .. ' ' .. ARGV[5])
return ver
`

/**
 * Read other instances' parts of a room's v2 roster (after a missed or oversized announcement, or a
 * version the heartbeat did not expect). KEYS: rv, then roster:<instanceId> of each. ARGV: those
 * instance ids. Returns {version, {sub, value, ...}, version, {...}, ...} in their order (version 0: none).
 */
export const ROSTER_READ = `
local out = {}
for i = 1, #ARGV do
  out[#out + 1] = tonumber(redis.call('HGET', KEYS[1], ARGV[i]) or '0')
  out[#out + 1] = redis.call('HGETALL', KEYS[i + 1])
end
return out
`

/**
 * A new epoch for a room whose seqs were handed out again (a failover lost the end of its history), if
 * it is still in the epoch the caller saw. KEYS: meta. ARGV: that epoch. Returns the room's epoch.
 * History stays; only its name changes, so every instance and every resuming member learns it lost its place.
 */
export const REBASE = `
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if epoch == ARGV[1] then
  local t = redis.call('TIME')
  epoch = string.format('%08x%05x', tonumber(t[1]), tonumber(t[2]))
  redis.call('HSET', KEYS[1], 'epoch', epoch)
end
return epoch or ''
`

/**
 * Read-only stats of a room this instance does not have open: creates nothing.
 * KEYS: meta, presence. Returns {seq, members on every instance}.
 */
export const PEEK = `
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
local t = redis.call('TIME')
local nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local all = redis.call('HGETALL', KEYS[2])
local sum = 0
for i = 2, #all, 2 do
  local v = all[i]
  local c = string.find(v, ':', 1, true)
  if tonumber(string.sub(v, c + 1)) >= nowMs then sum = sum + tonumber(string.sub(v, 1, c - 1)) end
end
return {seq, sum}
`

/**
 * The instances with a live lease in a room (for reading its roster where this instance does not have it
 * open); creates nothing. KEYS: presence. Returns their ids.
 */
export const LIVE = `
local t = redis.call('TIME')
local nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local all = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #all, 2 do
  local v = all[i + 1]
  local c = string.find(v, ':', 1, true)
  if tonumber(string.sub(v, c + 1)) >= nowMs then out[#out + 1] = all[i] end
end
return out
`

/** What defines a script as a command: an ioredis connection or cluster. */
interface Definer {
  defineCommand(name: string, def: { numberOfKeys?: number; lua: string }): void
}

/**
 * Define the room scripts on `client` (one Redis or the cluster), the publishing ones with `pub`: PUBLISH on
 * one Redis, SPUBLISH on a cluster, where every key of a call carries the room's hash tag (one slot).
 */
export function defineRoomScripts(client: Definer, pub: PublishCommand): void {
  const APPEND = append(pub)
  client.defineCommand('rcAppend', { numberOfKeys: 2, lua: APPEND })
  // The same script with the publish-key keys: the dedupe lookup runs inside the append.
  client.defineCommand('rcAppendOnce', { numberOfKeys: 4, lua: APPEND })
  client.defineCommand('rcRange', { numberOfKeys: 2, lua: RANGE })
  client.defineCommand('rcBeat', { numberOfKeys: 5, lua: beat(pub) })
  // Their key counts are given per call (one key per instance read).
  client.defineCommand('rcRosterWrite', { lua: rosterWrite(pub) })
  client.defineCommand('rcRosterRead', { lua: ROSTER_READ })
  client.defineCommand('rcLive', { numberOfKeys: 1, lua: LIVE })
  client.defineCommand('rcPeek', { numberOfKeys: 2, lua: PEEK })
  client.defineCommand('rcRebase', { numberOfKeys: 1, lua: REBASE })
}
