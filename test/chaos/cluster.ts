/**
 * What a chaos run talks to: one Redis of its own (append-only file, fsynced
 * on every write, in a temp dir, on a free port), or a Redis Cluster of its
 * own (3 masters with a replica each, node timeout 1 s, every node with an
 * append-only file fsynced on every write), and instances of roomcast on
 * ports of their own, so a killed instance comes back where its clients look
 * for it; or `wrangler dev` over a state directory of its own, restarted over
 * the same storage. Every process is started here and stopped by its PID.
 */

import { keySlot } from '../../adapters/redis/slot.ts'
import { OwnRedis, freePort, uniquePrefix } from '../support/redis.ts'
import { OwnCluster, cli, serves } from '../support/redis-cluster.ts'
import type { ServerHandle } from '../support/server.ts'
import { spawnServer } from '../support/server.ts'
import { WRANGLER, WRANGLER_ENV, removeDir, tempDir } from '../support/wrangler.ts'

/** The runtimes an instance can run on: Node and Deno over Redis, or Cloudflare's wrangler dev on its own. */
export type Runtime = 'node' | 'deno' | 'cloudflare'

/** One roomcast instance: where it listens and whether it is running. */
export interface Instance {
  name: string
  runtime: Runtime
  port: number
  handle: ServerHandle | undefined
  /** Everything earlier runs of this instance printed (a killed one's output is kept for the report). */
  output: string
}

/** What the instances share: one Redis, or a Redis Cluster. */
export type RedisKind = 'single' | 'cluster'

/** The Redis Cluster's `cluster-node-timeout`: a master silent this long is failed over. */
export const CHAOS_NODE_TIMEOUT_MS = 1000

/** Limits for the run: history that outlasts every outage, no rate limit in the way, fast liveness. */
export const CHAOS_ENV: Record<string, string> = {
  HISTORY_MESSAGES: '2000000',
  HISTORY_BYTES: String(512 * 1024 * 1024),
  RATE_LIMIT: '2000',
  RATE_BURST: '4000',
  MAX_UPGRADES_PER_IP: '100000',
  MAX_PUBLISHES_PER_IP: '100000',
  PING_INTERVAL_MS: '1000',
  IDLE_TIMEOUT_MS: '6000',
  PRESENCE_INTERVAL_MS: '200',
  PRESENCE_HEARTBEAT_MS: '500',
}

const START: Record<Runtime, (env: Record<string, string>, state: string) => Promise<ServerHandle>> = {
  node: (env) => spawnServer({ cmd: process.execPath, args: ['--import', 'tsx', 'adapters/node/server.ts'], env }),
  deno: (env) => spawnServer({ cmd: 'node_modules/.bin/deno', args: ['task', 'start'], env, timeoutMs: 60_000 }),
  // On its own port (so it comes back where its clients look) and over the same state directory every time.
  cloudflare: (env, state) => {
    const args = [WRANGLER, 'dev', '--ip', '127.0.0.1', '--port', env.PORT ?? '0', '--inspector-port', '0', '--persist-to', state]
    for (const [k, v] of Object.entries(env)) if (k !== 'PORT') args.push('--var', `${k}:${v}`)
    return spawnServer({ cmd: process.execPath, args, env: WRANGLER_ENV, timeoutMs: 90_000, ready: /Ready on https?:\/\/[^:\s]+:(\d+)/ })
  },
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Redis and the instances over it. */
export class Cluster {
  /** A Durable Object's storage across wrangler dev restarts. */
  private readonly state = tempDir('roomcast-chaos-cf-')

  private constructor(
    /** Absent for wrangler dev, whose rooms keep their own storage, and on a Redis Cluster. */
    readonly redis: OwnRedis | undefined,
    /** The Redis Cluster, when the run is on one. */
    readonly redisCluster: OwnCluster | undefined,
    readonly instances: Instance[],
    private readonly env: Record<string, string>,
  ) {}

  /** Start Redis or a Redis Cluster (unless only wrangler dev runs), then one instance per runtime listed, all on the same key prefix. */
  static async start(runtimes: Runtime[], env: Record<string, string> = {}, kind: RedisKind = 'single'): Promise<Cluster> {
    const needsRedis = runtimes.some((r) => r !== 'cloudflare')
    const redis = needsRedis && kind === 'single' ? await OwnRedis.start(true) : undefined
    const redisCluster =
      needsRedis && kind === 'cluster'
        ? await OwnCluster.start({ masters: 3, replicasPerMaster: 1, nodeTimeoutMs: CHAOS_NODE_TIMEOUT_MS, appendonly: true })
        : undefined
    const prefix = { REDIS_PREFIX: uniquePrefix('chaos') }
    const full =
      redis !== undefined
        ? { ...CHAOS_ENV, ...env, REDIS_URL: redis.url, ...prefix }
        : redisCluster !== undefined
          ? { ...CHAOS_ENV, ...env, REDIS_CLUSTER_NODES: redisCluster.env, ...prefix }
          : { ...CHAOS_ENV, ...env }
    const instances: Instance[] = []
    for (const [i, runtime] of runtimes.entries()) instances.push({ name: `${runtime}-${i}`, runtime, port: await freePort(), handle: undefined, output: '' })
    const cluster = new Cluster(redis, redisCluster, instances, full)
    try {
      if (redisCluster !== undefined) await cluster.whole()
      await Promise.all(instances.map((_, i) => cluster.restart(i)))
    } catch (err) {
      await cluster.stop()
      throw err
    }
    return cluster
  }

  /** Whether instance `i` is running. */
  up(i: number): boolean {
    return this.instances[i]?.handle !== undefined
  }

  /** SIGKILL instance `i` (its whole process group). */
  async kill(i: number): Promise<void> {
    const inst = this.at(i)
    const handle = inst.handle
    inst.handle = undefined
    if (handle === undefined) return
    await handle.stop('SIGKILL')
    inst.output += handle.output()
  }

  /** Start instance `i` again on its port; a port still held by the dead process is retried for a while (bounded). */
  async restart(i: number): Promise<void> {
    const inst = this.at(i)
    if (inst.handle !== undefined) return
    let last: unknown
    for (let attempt = 0; attempt < 10; attempt++) {
      try {
        inst.handle = await START[inst.runtime]({ ...this.env, PORT: String(inst.port) }, this.state)
        return
      } catch (err) {
        last = err
        await new Promise((r) => setTimeout(r, 500))
      }
    }
    throw new Error(`instance ${inst.name} did not come back on port ${inst.port}: ${String(last)}`)
  }

  /** Freeze Redis (SIGSTOP) for `ms`, then let it go on (SIGCONT). */
  async stopRedis(ms: number): Promise<void> {
    const redis = this.needRedis()
    redis.pause()
    try {
      await new Promise((r) => setTimeout(r, ms))
    } finally {
      redis.resume()
    }
  }

  /** SIGKILL Redis and start it again on its port and files: it reloads its append-only file. */
  async restartRedis(): Promise<void> {
    const redis = this.needRedis()
    await redis.stop('SIGKILL')
    await redis.restart()
  }

  /**
   * Room names from `base`, one per shard in turn (room r on the r-th master by slot), so every shard carries a
   * room and every Redis Cluster fault hits one; on one Redis (or none) simply `base-r`.
   */
  async roomNames(base: string, n: number): Promise<string[]> {
    if (this.redisCluster === undefined) return Array.from({ length: n }, (_, r) => `${base}-${r}`)
    const shards = (await this.redisCluster.masters()).sort((a, b) => (a.slots[0]?.[0] ?? 0) - (b.slots[0]?.[0] ?? 0))
    const out: string[] = []
    for (let r = 0; r < n; r++) {
      const shard = shards[r % shards.length]
      if (shard === undefined) throw new Error('the cluster has no master')
      for (let k = 0; ; k++) {
        const name = k === 0 ? `${base}-${r}` : `${base}-${r}-${k}`
        if (serves(shard, keySlot(`{${name}}`))) {
          out.push(name)
          break
        }
      }
    }
    return out
  }

  /**
   * SIGKILL the master of `room`'s shard; once its replica took over, wait `downMs` and start it again on its
   * files, and wait until it is back as the new master's replica (the cluster whole again for the next fault).
   */
  async killMaster(room: string, downMs: number): Promise<string> {
    const c = this.needCluster()
    const slot = keySlot(`{${room}}`)
    const old = await this.masterOf(slot)
    const killed = Date.now()
    await c.kill(old, 'SIGKILL')
    const now = await c.waitNewMaster(slot, old, 30_000)
    const took = Date.now() - killed
    await sleep(downMs)
    await c.restart(old)
    await this.whole()
    return `master ${old} killed; replica ${now} took over in ${took} ms; ${old} rejoined as its replica`
  }

  /** SIGSTOP the master of `room`'s shard for `ms` (past the node timeout: its replica takes over meanwhile), then SIGCONT. */
  async stopMaster(room: string, ms: number): Promise<string> {
    const c = this.needCluster()
    const slot = keySlot(`{${room}}`)
    const old = await this.masterOf(slot)
    c.pause(old)
    try {
      await sleep(ms)
    } finally {
      c.resume(old)
    }
    await this.whole()
    const now = await this.masterOf(slot)
    return now === old ? `master ${old} frozen; not failed over, it serves again` : `master ${old} frozen; ${now} took over; ${old} came back as its replica`
  }

  /** SIGKILL a replica of `room`'s shard for `downMs`, then start it again on its files. */
  async killReplica(room: string, downMs: number): Promise<string> {
    const c = this.needCluster()
    const slot = keySlot(`{${room}}`)
    const shard = (await c.masters()).find((m) => serves(m, slot))
    const replica = shard?.replicas[0]
    if (shard === undefined || replica === undefined) throw new Error(`the shard of slot ${slot} has no replica`)
    await c.kill(replica, 'SIGKILL')
    await sleep(downMs)
    await c.restart(replica)
    await this.whole()
    return `replica ${replica} of ${shard.port} killed and restarted`
  }

  /** Move `room`'s slot, keys and all, from its master to another (`to`: which of the others, in port order). */
  async moveSlot(room: string, to: number): Promise<string> {
    const c = this.needCluster()
    const slot = keySlot(`{${room}}`)
    const from = await this.masterOf(slot)
    const others = (await c.masters()).map((m) => m.port).filter((p) => p !== from)
    others.sort((a, b) => a - b)
    const target = others[to % others.length]
    if (target === undefined) throw new Error('no other master to move to')
    await c.moveSlot(slot, from, target)
    await this.whole()
    return `slot ${slot} moved from ${from} to ${target}`
  }

  /** Every instance's output so far, for the report when something went wrong. */
  output(): string {
    return this.instances.map((inst) => `--- ${inst.name}\n${inst.output}${inst.handle?.output() ?? ''}`).join('\n')
  }

  /** Stop everything by PID: the instances (SIGTERM, then SIGKILL), then Redis and its files. */
  async stop(): Promise<void> {
    await Promise.all(
      this.instances.map(async (inst) => {
        const handle = inst.handle
        inst.handle = undefined
        if (handle === undefined) return
        await handle.stop('SIGTERM', 5000)
        inst.output += handle.output()
      }),
    )
    await this.redis?.dispose()
    await this.redisCluster?.dispose()
    removeDir(this.state)
  }

  private needCluster(): OwnCluster {
    if (this.redisCluster === undefined) throw new Error('this run has no Redis Cluster')
    return this.redisCluster
  }

  private async masterOf(slot: number): Promise<number> {
    const port = await this.needCluster().masterOf(slot)
    if (port === undefined) throw new Error(`no master serves slot ${slot}`)
    return port
  }

  /**
   * Wait until the cluster is whole again for the next fault: every node ok with three masters, every running
   * node with the same slot map, every node that says it is a master serving slots in it, and every other one
   * a replica whose link to its master is up (synced: a master killed next has a replica holding its data).
   */
  private async whole(): Promise<void> {
    const c = this.needCluster()
    const deadline = Date.now() + 60_000
    let last = ''
    for (;;) {
      await c.waitOk(Math.max(1000, deadline - Date.now()))
      const running = c.nodes.filter((n) => n.proc !== undefined && n.proc.exitCode === null && n.proc.signalCode === null)
      const views = await Promise.all(running.map((n) => cli(n.port, '--json', 'cluster', 'slots').catch(() => '')))
      const maps = views.map((v) => {
        const rows = v.trim() === '' ? [] : (JSON.parse(v) as [number, number, [string, number]][])
        return rows
          .map(([from, to, master]) => `${from}-${to}@${master[1]}`)
          .sort()
          .join(' ')
      })
      const masters = new Set((maps[0] ?? '').split(' ').map((r) => Number(r.slice(r.indexOf('@') + 1))))
      const roles = await Promise.all(running.map((n) => cli(n.port, 'role').catch(() => '')))
      const agreed = maps.every((m) => m !== '' && m === maps[0])
      const rolesOk = running.every((n, i) => {
        const role = roles[i] ?? ''
        return role.startsWith('master') ? masters.has(n.port) : /^slave\n[^\n]*\n\d+\nconnected\n/.test(role) && !masters.has(n.port)
      })
      if (agreed && rolesOk) return
      last = running.map((n, i) => `${n.port}: ${JSON.stringify(roles[i])} sees ${maps[i]}`).join('\n')
      if (Date.now() > deadline) throw new Error(`the cluster did not settle within 60 s:\n${last}`)
      await sleep(200)
    }
  }

  private needRedis(): OwnRedis {
    if (this.redis === undefined) throw new Error('this run has no Redis')
    return this.redis
  }

  private at(i: number): Instance {
    const inst = this.instances[i]
    if (inst === undefined) throw new Error(`no instance ${i}`)
    return inst
  }
}
