/**
 * Scale-out through Redis, for the runtimes that hold rooms in a Hub (Node, Deno).
 * Selected by REDIS_URL; without it the Hub keeps everything in memory.
 */

import type { Config } from '../../src/index.ts'
import { ConfigError, readPositiveInt } from '../../src/index.ts'
import { RedisBackend } from './backend.ts'

export { RedisBackend } from './backend.ts'

/** Defaults of the Redis-only settings. */
export const redisDefaults = { prefix: 'roomcast:', heartbeatMs: 2000 }

/**
 * A RedisBackend if `REDIS_URL` is set, else undefined. Bad values throw ConfigError. Waits up to
 * five seconds for Redis so the first clients are not refused; without it, starts degraded and says so.
 */
export async function redisFromEnv(env: Record<string, string | undefined>, config: Config): Promise<RedisBackend | undefined> {
  const url = env.REDIS_URL
  if (url === undefined || url === '') return undefined
  if (!/^rediss?:\/\//.test(url)) throw new ConfigError(`REDIS_URL=${url} must start with redis:// or rediss://`)
  const prefix = env.REDIS_PREFIX || redisDefaults.prefix
  const heartbeatMs = readPositiveInt(env, 'PRESENCE_HEARTBEAT_MS', redisDefaults.heartbeatMs)
  const backend = new RedisBackend({ url, prefix, limits: config, roomTtlMs: config.roomTtlMs, heartbeatMs })
  if (!(await backend.whenUp(5000))) console.error(`roomcast: ${backend.health().detail}; serving degraded`)
  return backend
}
