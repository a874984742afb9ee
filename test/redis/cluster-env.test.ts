/** REDIS_CLUSTER_NODES and its neighbours: what is accepted, and a ConfigError naming the variable for what is not. */
import { describe, expect, it } from 'vitest'
import { REPLICA_WAIT_MS, clusterFromEnv } from '../../adapters/redis/cluster-env.ts'
import { redisFromEnv } from '../../adapters/redis/index.ts'
import { ConfigError, readConfig } from '../../src/index.ts'

describe('REDIS_CLUSTER_NODES', () => {
  it('is unset, or lists host:port, [v6]:port and redis:// nodes', () => {
    expect(clusterFromEnv({})).toBeUndefined()
    expect(clusterFromEnv({ REDIS_CLUSTER_NODES: ' ' })).toBeUndefined()
    expect(clusterFromEnv({ REDIS_CLUSTER_NODES: '10.0.0.1:7000, redis-2.internal:7001,[::1]:7002' })).toEqual({
      nodes: [
        { host: '10.0.0.1', port: 7000 },
        { host: 'redis-2.internal', port: 7001 },
        { host: '::1', port: 7002 },
      ],
      replicaWaitMs: REPLICA_WAIT_MS,
    })
  })

  it('takes credentials and TLS from URL nodes, which must agree', () => {
    expect(clusterFromEnv({ REDIS_CLUSTER_NODES: 'rediss://app:s%3Acret@a:7000,rediss://app:s%3Acret@b' })).toEqual({
      nodes: [
        { host: 'a', port: 7000 },
        { host: 'b', port: 6379 },
      ],
      replicaWaitMs: REPLICA_WAIT_MS,
      tls: true,
      username: 'app',
      password: 's:cret',
    })
    expect(() => clusterFromEnv({ REDIS_CLUSTER_NODES: 'redis://:x@a:7000,redis://:y@b:7000' })).toThrow(/REDIS_CLUSTER_NODES: every node must use the same/)
  })

  it.each([
    ['nonsense', /REDIS_CLUSTER_NODES: nonsense is not host:port/],
    ['a:0', /REDIS_CLUSTER_NODES: a:0 is not host:port/],
    ['a:70000', /REDIS_CLUSTER_NODES: a:70000 is not host:port/],
    ['a:7000,b', /REDIS_CLUSTER_NODES: b is not host:port/],
    [',,', /REDIS_CLUSTER_NODES=,, lists no node/],
    ['http://a:7000', /REDIS_CLUSTER_NODES: http:\/\/a:7000 must start with redis:\/\/ or rediss:\/\//],
    ['redis://a:7000/2', /REDIS_CLUSTER_NODES: redis:\/\/a:7000\/2 names a database/],
  ])('refuses %s with a ConfigError naming the variable', (value, message) => {
    expect(() => clusterFromEnv({ REDIS_CLUSTER_NODES: value })).toThrow(ConfigError)
    expect(() => clusterFromEnv({ REDIS_CLUSTER_NODES: value })).toThrow(message)
  })

  it('REDIS_CLUSTER_REPLICA_WAIT_MS is 0 (do not wait) or a positive integer', () => {
    expect(clusterFromEnv({ REDIS_CLUSTER_NODES: 'a:1', REDIS_CLUSTER_REPLICA_WAIT_MS: '0' })?.replicaWaitMs).toBe(0)
    expect(clusterFromEnv({ REDIS_CLUSTER_NODES: 'a:1', REDIS_CLUSTER_REPLICA_WAIT_MS: '250' })?.replicaWaitMs).toBe(250)
    expect(() => clusterFromEnv({ REDIS_CLUSTER_NODES: 'a:1', REDIS_CLUSTER_REPLICA_WAIT_MS: '-1' })).toThrow(/REDIS_CLUSTER_REPLICA_WAIT_MS=-1/)
  })

  it('cannot be set with REDIS_URL, nor with a REDIS_PREFIX that would be every key’s hash tag', async () => {
    const config = readConfig({})
    await expect(redisFromEnv({ REDIS_URL: 'redis://h', REDIS_CLUSTER_NODES: 'a:1' }, config)).rejects.toThrow(/REDIS_URL and REDIS_CLUSTER_NODES are both set/)
    await expect(redisFromEnv({ REDIS_CLUSTER_NODES: 'a:1', REDIS_PREFIX: 'app{1}:' }, config)).rejects.toThrow(
      /REDIS_PREFIX=app\{1\}: must not contain \{ or \}/,
    )
  })
})
