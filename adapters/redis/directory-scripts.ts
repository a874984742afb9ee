/**
 * The Lua scripts of the admin API's room directory (directory.ts). Two keys
 * beside the rooms' own, hash-tagged together so a Cluster keeps them in one slot:
 * - names (sorted set, every score 0): the room names, in byte order for paging
 * - leases (hash): room -> "<expiresAtMs> <messagesPerSecond>", refreshed by
 *   each instance that has the room open; a lapsed lease drops the room
 * A room's own keys (scripts.ts) are read one room at a time, in its own slot.
 */

/** Redis's clock in ms, as `now`. */
const NOW = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`

/** KEYS: names, leases. ARGV: ttlMs, then room, rate pairs. Leases every room given until now + ttl. */
export const LEASE = `${NOW}
local exp = now + tonumber(ARGV[1])
for i = 2, #ARGV - 1, 2 do
  redis.call('ZADD', KEYS[1], 0, ARGV[i])
  redis.call('HSET', KEYS[2], ARGV[i], exp .. ' ' .. ARGV[i + 1])
end
return #ARGV
`

/**
 * KEYS: names, leases. ARGV: after ("" from the start), limit, budget (names
 * looked at, at most). Returns {cursor, room, rate, room, rate...}: up to `limit`
 * rooms with a live lease after `after`, in byte order, dropping lapsed ones
 * on the way; `cursor` is the last name looked at when more may follow, else "".
 */
export const LIST = `${NOW}
local limit, budget = tonumber(ARGV[2]), tonumber(ARGV[3])
local min = '-'
if ARGV[1] ~= '' then min = '(' .. ARGV[1] end
local out = {''}
local found, scanned, last = 0, 0, nil
local more = true
while found < limit and scanned < budget do
  local want = math.min(limit - found, budget - scanned)
  local batch = redis.call('ZRANGEBYLEX', KEYS[1], min, '+', 'LIMIT', 0, want)
  if #batch == 0 then more = false break end
  for _, name in ipairs(batch) do
    scanned = scanned + 1
    last = name
    local v = redis.call('HGET', KEYS[2], name)
    local sp = v and string.find(v, ' ', 1, true)
    if sp and tonumber(string.sub(v, 1, sp - 1)) >= now then
      out[#out + 1] = name
      out[#out + 1] = string.sub(v, sp + 1)
      found = found + 1
    else
      redis.call('ZREM', KEYS[1], name)
      redis.call('HDEL', KEYS[2], name)
    end
  end
  if #batch < want then more = false break end
  min = '(' .. last
end
if more and last then
  if #redis.call('ZRANGEBYLEX', KEYS[1], '(' .. last, '+', 'LIMIT', 0, 1) > 0 then out[1] = last end
end
return out
`

/** KEYS: a room's meta, presence. Returns {seq, historyBytes, members on every instance}; creates nothing. */
export const INFO = `${NOW}
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq') or '0')
local bytes = tonumber(redis.call('HGET', KEYS[1], 'bytes') or '0')
local all = redis.call('HGETALL', KEYS[2])
local sum = 0
for i = 2, #all, 2 do
  local v = all[i]
  local c = string.find(v, ':', 1, true)
  if tonumber(string.sub(v, c + 1)) >= now then sum = sum + tonumber(string.sub(v, 1, c - 1)) end
end
return {seq, bytes, sum}
`

/** KEYS: a room's meta, log. Drops its history, keeping epoch and seq; returns the seq (0 for a room Redis does not hold). */
export const CLEAR = `
local seq = redis.call('HGET', KEYS[1], 'seq')
if not seq then return 0 end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'bytes', 0)
return tonumber(seq)
`

/** The directory's scripts by the command name each transport defines them as (every one takes two keys). */
export const DIRECTORY_SCRIPTS = { rcLease: LEASE, rcList: LIST, rcInfo: INFO, rcClear: CLEAR } as const

/** One of the directory's scripts. */
export type DirectoryScript = keyof typeof DIRECTORY_SCRIPTS

/** Define the directory's scripts on a connection (a Redis or a Cluster client). */
export function defineDirectoryScripts(client: { defineCommand(name: string, def: { numberOfKeys: number; lua: string }): void }): void {
  for (const [name, lua] of Object.entries(DIRECTORY_SCRIPTS)) client.defineCommand(name, { numberOfKeys: 2, lua })
}
