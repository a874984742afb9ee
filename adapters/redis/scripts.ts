/**
 * The Lua scripts that make a room's sequence one thing across instances.
 * Each runs atomically inside Redis, so "take the next seq, keep it in
 * history, publish it" can never interleave with another instance's publish.
 *
 * A room has three keys, hash-tagged so they share a cluster slot:
 * - meta (hash): epoch, seq, bytes (body bytes held in history)
 * - log (list): "<bodyBytes> <entry JSON>", oldest first, contiguous seqs
 * - presence (hash): instanceId -> "<count>:<expiresAtMs>"
 * and one pub/sub channel carrying "m <epoch> <entry JSON>" and "p <instance> <count> <at>".
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
 */
const append = (pub: PublishCommand) => `${ENSURE}
local ttl = ARGV[6]
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
redis.call('${pub}', ARGV[1], 'm ' .. epoch .. ' ' .. entry)
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
 * Presence heartbeat. KEYS: meta, log, presence. ARGV: instanceId, localCount,
 * presenceTtlMs, roomTtlMs, channel, publish ("1": announce the count on the channel).
 * Writes this instance's count with an expiry, drops other instances' expired
 * counts, keeps the room's keys alive. Returns {epoch, seq, at, id, count, id, count...}
 * with `at` Redis's clock in microseconds, so readers can order it against "p" messages.
 */
const beat = (pub: PublishCommand) => `${ENSURE}
local ttl = ARGV[4]
${TOUCH}
local pres, id, count, pttl = KEYS[3], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local t = redis.call('TIME')
local nowMs = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local at = t[1] .. string.format('%06d', tonumber(t[2]))
if count > 0 then
  redis.call('HSET', pres, id, count .. ':' .. (nowMs + pttl))
else
  redis.call('HDEL', pres, id)
end
local out = {epoch, seq, at}
local all = redis.call('HGETALL', pres)
for i = 1, #all, 2 do
  local f, v = all[i], all[i + 1]
  if f ~= id then
    local c = string.find(v, ':', 1, true)
    if tonumber(string.sub(v, c + 1)) < nowMs then
      redis.call('HDEL', pres, f)
    else
      out[#out + 1] = f
      out[#out + 1] = string.sub(v, 1, c - 1)
    end
  end
end
if #all > 0 then redis.call('PEXPIRE', pres, pttl) end
if ARGV[6] == '1' then redis.call('${pub}', ARGV[5], 'p ' .. id .. ' ' .. count .. ' ' .. at) end
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

/** The scripts that publish, for one way of publishing. */
export function publishingScripts(pub: PublishCommand): { APPEND: string; BEAT: string } {
  return { APPEND: append(pub), BEAT: beat(pub) }
}

/** The append script on one Redis (classic pub/sub). */
export const APPEND = append('PUBLISH')
/** The heartbeat script on one Redis (classic pub/sub). */
export const BEAT = beat('PUBLISH')
