/**
 * The scale-out scenarios on a real Redis Cluster (3 masters, 3 replicas, rooms spread over the
 * shards), with Node, Deno and Bun instances; and a master killed under publishers (failover.ts).
 */
import { failoverScenarios } from './failover.ts'
import { onCluster } from './on-cluster.ts'
import { bun, deno, node } from './runtimes.ts'
import { scaleOut } from './suite.ts'

const cluster = onCluster()
scaleOut('node + node on a cluster', node, node, cluster)
scaleOut('node + deno on a cluster', node, deno, cluster)
scaleOut('bun + node on a cluster', bun, node, cluster)
failoverScenarios('node + node', node, node)
