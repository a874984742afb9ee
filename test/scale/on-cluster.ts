/** The scale-out scenarios' Shared on a Redis Cluster this test file starts (once, on first use) and stops by PID after its last test. */
import { afterAll } from 'vitest'
import type { Shard } from '../support/redis-cluster.ts'
import { OwnCluster, roomOn } from '../support/redis-cluster.ts'
import type { Shared } from './suite.ts'

/** A cluster of 3 masters and 3 replicas for this file; room names go round its shards. */
export function onCluster(): Shared {
  let cluster: OwnCluster | undefined
  let shards: Shard[] = []
  let next = 0
  afterAll(async () => {
    await cluster?.dispose()
  }, 30_000)
  return {
    async prepare() {
      if (cluster !== undefined) return
      cluster = await OwnCluster.start()
      shards = await cluster.masters()
    },
    env: () => ({ REDIS_CLUSTER_NODES: (cluster as OwnCluster).env }),
    room: () => roomOn(shards[next++ % shards.length] as Shard),
  }
}
