/**
 * Scale-out through Redis, for the runtimes that hold rooms in a Hub (Node, Deno, Bun).
 * Selected by REDIS_URL (one Redis) or REDIS_CLUSTER_NODES (a Redis Cluster); without
 * either, the Hub keeps everything in memory.
 */

import type { Config, Ops } from '../../src/index.ts'
import { ConfigError, readPositiveInt } from '../../src/index.ts'
import { RedisBackend } from './backend.ts'
import { clusterFromEnv } from './cluster-env.ts'

export type { RedisBackendOptions } from './backend.ts'
export { RedisBackend } from './backend.ts'
export type { ClusterSettings } from './cluster.ts'

/** Defaults of the Redis-only settings. */
export const redisDefaults = { prefix: 'roomcast:', heartbeatMs: 2000 }

/**
 * A RedisBackend if `REDIS_URL` or `REDIS_CLUSTER_NODES` is set, else undefined. Bad values throw
 * ConfigError. Waits up to five seconds for Redis so the first clients are not refused; without it,
 * starts degraded and says so.
 */
export async function redisFromEnv(env: Record<string, string | undefined>, config: Config, ops?: Ops): Promise<RedisBackend | undefined> {
  const url = env.REDIS_URL
  const cluster = clusterFromEnv(env)
  if (cluster !== undefined && url !== undefined && url !== '') {
    throw new ConfigError('REDIS_URL and REDIS_CLUSTER_NODES are both set; set REDIS_URL for one Redis or REDIS_CLUSTER_NODES for a cluster')
  }
  if (cluster === undefined && (url === undefined || url === '')) return undefined
  if (url !== undefined && url !== '' && !/^rediss?:\/\//.test(url)) throw new ConfigError(`REDIS_URL=${url} must start with redis:// or rediss://`)
  const prefix = env.REDIS_PREFIX || redisDefaults.prefix
  // A brace in the prefix would become every key's hash tag: all rooms in one slot, on one shard.
  if (cluster !== undefined && /[{}]/.test(prefix))
    throw new ConfigError(`REDIS_PREFIX=${prefix} must not contain { or } on a cluster (it would put every room on one shard)`)
  const heartbeatMs = readPositiveInt(env, 'PRESENCE_HEARTBEAT_MS', redisDefaults.heartbeatMs)
  const log = ops === undefined ? undefined : (message: string, level: 'info' | 'warn' = 'info') => ops.log.log(level, message, { backend: 'redis' })
  const common = { prefix, limits: config, roomTtlMs: config.roomTtlMs, heartbeatMs, log, metrics: ops?.metrics }
  const backend = cluster !== undefined ? new RedisBackend({ ...common, cluster }) : new RedisBackend({ ...common, url })
  if (!(await backend.whenUp(5000))) {
    const degraded = `${backend.health().detail}; serving degraded`
    if (ops === undefined) console.error(`roomcast: ${degraded}`)
    else ops.log.warn(degraded, { backend: 'redis' })
  }
  return backend
}
