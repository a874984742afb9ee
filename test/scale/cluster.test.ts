/**
 * The scale-out scenarios on a real Redis Cluster (3 masters, 3 replicas, rooms spread over the
 * shards), with Node, Deno and Bun instances; and a master killed under publishers (failover.ts).
 */
import { spawnServer } from '../support/server.ts'
import { failoverScenarios } from './failover.ts'
import { onCluster } from './on-cluster.ts'
import { scaleOut } from './suite.ts'

const node = (env: Record<string, string>) => spawnServer({ cmd: process.execPath, args: ['--import', 'tsx', 'adapters/node.ts'], env })

const cluster = onCluster()
scaleOut('node + node on a cluster', node, node, cluster)
failoverScenarios('node + node', node, node)
