/**
 * A Redis Cluster: commands through ioredis's `Cluster` client (each room's
 * scripts run on its shard, its keys share one slot by their `{room}` hash
 * tag), room channels as shard channels (SPUBLISH in the scripts, SSUBSCRIBE
 * in shard-subscribers.ts), and appends and history reads confirmed by a
 * replica (shard-batches.ts). A shard that fails takes only its own rooms
 * down, until its replica is promoted; rooms on other shards see nothing.
 */

import type { ClusterOptions, RedisOptions } from 'ioredis'
import { Cluster, ReplyError } from 'ioredis'
import type { DirectoryScript } from './directory-scripts.ts'
import { defineDirectoryScripts } from './directory-scripts.ts'
import { defineRoomScripts } from './scripts.ts'
import { ShardBatches } from './shard-batches.ts'
import { ShardSubscribers } from './shard-subscribers.ts'
import type { ProbeSettings } from './single.ts'
import { FAIL_FAST } from './single.ts'
import { keySlot } from './slot.ts'
import type { Reply, Transport, TransportEvents } from './transport.ts'
import { neverRan } from './transport.ts'
import type { RoomKeys } from './wire.ts'

/** Where the cluster is and how to reach it (REDIS_CLUSTER_NODES and friends). */
export interface ClusterSettings {
  /** Seed nodes: any reachable one tells the client the rest. */
  nodes: { host: string; port: number }[]
  username?: string
  password?: string
  /** Connect with TLS (a `rediss://` node). */
  tls?: boolean
  /** How long an append or history read waits for a replica to hold it (`WAIT 1`); 0: never wait. */
  replicaWaitMs: number
}

type ScriptedCluster = Cluster & {
  rcBeat(meta: string, log: string, presence: string, rv: string, mine: string, ...args: (string | number)[]): Promise<Reply>
  /** Scripts with a variable number of keys: that number comes first. */
  rcRosterWrite(numKeys: number, ...keysAndArgs: (string | number)[]): Promise<number>
  rcLive(presence: string): Promise<string[]>
  rcRosterRead(numKeys: number, ...keysAndArgs: (string | number)[]): Promise<unknown[]>
  rcPeek(meta: string, presence: string): Promise<number[]>
  rcRebase(meta: string, epoch: string): Promise<string>
}

/** At most one slot-map refresh asked for per this many ms (a failing shard's every refused publish asks). */
const REFRESH_EVERY_MS = 100

/** A Redis Cluster, each room on its shard. */
export class ClusterRedis implements Transport {
  readonly name = 'redis-cluster'
  /** Appends wait for a replica (unless REDIS_CLUSTER_REPLICA_WAIT_MS is 0). */
  readonly confirmsAppends: boolean
  private readonly cmd: ScriptedCluster
  private readonly subs: ShardSubscribers
  private readonly batches: ShardBatches
  private ready = false
  private downSince = Date.now()
  private lastError = 'connecting'
  private lastRefresh = 0
  /** Shards (by their master) whose commands fail, since when, and a slot whose command failed: `/healthz` names them. */
  private readonly failing = new Map<string, { since: number; slot: number }>()
  private readonly probeTimer: ReturnType<typeof setInterval>
  /** Masters with a probe PING in flight. */
  private readonly probing = new Set<string>()
  /** Masters whose probe PING is overdue, and since when: their rooms refuse publishes until they answer. */
  private readonly slow = new Map<string, number>()

  constructor(
    settings: ClusterSettings,
    events: TransportEvents,
    private readonly say: (message: string, level?: 'info' | 'warn') => void,
    probe: ProbeSettings,
  ) {
    const auth: RedisOptions = {}
    if (settings.username !== undefined) auth.username = settings.username
    if (settings.password !== undefined) auth.password = settings.password
    if (settings.tls) auth.tls = {}
    const { retryStrategy: _retry, ...nodeOptions } = FAIL_FAST
    const options: ClusterOptions = {
      redisOptions: { ...nodeOptions, ...auth },
      scaleReads: 'master',
      // Failing fast, as on one Redis: nothing queued while the cluster is unreachable.
      enableOfflineQueue: false,
      // Never resend a command whose connection closed: it may have run (an append twice).
      retryDelayOnFailover: 0,
      // CLUSTERDOWN means it did not run: refuse at once rather than hold the publisher.
      retryDelayOnClusterDown: 0,
      slotsRefreshInterval: 2000,
      slotsRefreshTimeout: 1000,
      enableAutoPipelining: true,
      clusterRetryStrategy: (times) => Math.min(100 * times, 1000),
    }
    this.cmd = new Cluster(settings.nodes, options) as ScriptedCluster
    // Routed by their keys' slot: all of them carry the room's hash tag.
    defineRoomScripts(this.cmd, 'SPUBLISH')
    defineDirectoryScripts(this.cmd)
    this.confirmsAppends = settings.replicaWaitMs > 0
    const slotNodes = (slot: number) => this.cmd.slots[slot]
    this.batches = new ShardBatches(this.cmd, slotNodes, settings.replicaWaitMs)
    this.subs = new ShardSubscribers(
      slotNodes,
      { ...FAIL_FAST, ...auth },
      {
        message: (channel, text) => events.message(channel, text),
        subscribed: (channel) => events.subscribed(channel),
        down: (channel) => events.down(channel),
        stale: () => this.refresh(),
        note: (message) => say(message),
      },
    )
    this.cmd.on('ready', () => this.check())
    this.cmd.on('close', () => this.check())
    this.cmd.on('end', () => this.check())
    this.cmd.on('error', (err: Error) => {
      this.lastError = err.message
    })
    this.cmd.on('node error', (err: Error, node: string) => {
      this.lastError = `${node}: ${err.message}`
    })
    this.probeTimer = setInterval(() => this.probe(probe.timeoutMs), probe.everyMs)
    ;(this.probeTimer as { unref?: () => void }).unref?.()
    // Every slot-map refresh, periodic or asked for: channels follow their shard to its current nodes, and
    // a master's connection opens now rather than on its first command (which would race the connect).
    this.cmd.on('refresh', () => {
      this.connectMasters()
      this.subs.follow()
    })
  }

  isUp(channel: string): boolean {
    if (!this.ready || !this.subs.isUp(channel)) return false
    // A master that does not answer its probe takes its rooms down (publishes refused, never sent) until it does.
    if (this.slow.size === 0) return true
    const master = this.cmd.slots[keySlot(channel)]?.[0]
    return master === undefined || !this.slow.has(master)
  }

  state(): { ready: boolean; detail?: string } {
    if (!this.ready) return { ready: false, detail: `redis cluster unreachable since ${new Date(this.downSince).toISOString()}: ${this.lastError}` }
    // Rooms on other shards serve: the instance stays ready, and says which shards' rooms are refused.
    const parts: string[] = []
    for (const [node, since] of this.slow) parts.push(`${node} not answering since ${new Date(since).toISOString()}`)
    for (const [node, { since }] of this.failing) parts.push(`commands to ${node} fail since ${new Date(since).toISOString()}`)
    for (const [node, n] of this.subs.waiting()) parts.push(`${n} room(s) wait for a subscription on ${node}`)
    if (parts.length === 0) return { ready: true }
    return { ready: true, detail: `redis cluster: ${parts.join('; ')}; rooms on other shards are served` }
  }

  listen(channel: string): void {
    this.subs.listen(channel)
  }

  unlisten(channel: string): void {
    this.subs.unlisten(channel)
  }

  append(k: RoomKeys, args: (string | number)[]): Promise<number> {
    const slot = keySlot(k.meta)
    return this.batches.append(slot, k, args).then(
      (seq) => this.worked(slot, seq),
      (err) => this.failed(slot, err),
    )
  }

  appendOnce(k: RoomKeys, args: (string | number)[]): Promise<Reply> {
    const slot = keySlot(k.meta)
    return this.batches.appendOnce(slot, k, args).then(
      (r) => this.worked(slot, r),
      (err) => this.failed(slot, err),
    )
  }

  range(k: RoomKeys, args: (string | number)[]): Promise<Reply> {
    const slot = keySlot(k.meta)
    return this.batches.range(slot, k, args).then(
      (r) => this.worked(slot, r),
      (err) => this.failed(slot, err),
    )
  }

  beat(k: RoomKeys, mine: string, args: (string | number)[]): Promise<Reply> {
    const slot = keySlot(k.meta)
    return this.cmd.rcBeat(k.meta, k.log, k.presence, k.rv, mine, ...args).then(
      (r) => this.worked(slot, r),
      (err) => this.failed(slot, err),
    )
  }

  rosterWrite(k: RoomKeys, mine: string, args: (string | number)[]): Promise<number> {
    const slot = keySlot(k.meta)
    return this.cmd.rcRosterWrite(2, k.rv, mine, ...args).then(
      (r) => this.worked(slot, r),
      (err) => this.failed(slot, err),
    )
  }

  rosterRead(k: RoomKeys, rosters: string[], ids: string[]): Promise<unknown[]> {
    const slot = keySlot(k.meta)
    return this.cmd.rcRosterRead(1 + rosters.length, k.rv, ...rosters, ...ids).then(
      (r) => this.worked(slot, r),
      (err) => this.failed(slot, err),
    )
  }

  rebase(k: RoomKeys, epoch: string): Promise<string> {
    const slot = keySlot(k.meta)
    return this.cmd.rcRebase(k.meta, epoch).then(
      (r) => this.worked(slot, r),
      (err) => this.failed(slot, err),
    )
  }

  live(k: RoomKeys): Promise<string[]> {
    const slot = keySlot(k.meta)
    return this.cmd.rcLive(k.presence).then(
      (r) => this.worked(slot, r),
      (err) => this.failed(slot, err),
    )
  }

  peek(k: RoomKeys): Promise<number[]> {
    const slot = keySlot(k.meta)
    return this.cmd.rcPeek(k.meta, k.presence).then(
      (r) => this.worked(slot, r),
      (err) => this.failed(slot, err),
    )
  }

  directory(script: DirectoryScript, keys: [string, string], args: (string | number)[]): Promise<Reply> {
    // Routed by the first key's slot; the second shares it (directory-scripts.ts).
    const slot = keySlot(keys[0])
    const run = (this.cmd as unknown as Record<DirectoryScript, (...a: (string | number)[]) => Promise<Reply>>)[script]
    return run.call(this.cmd, ...keys, ...args).then(
      (r) => this.worked(slot, r),
      (err) => this.failed(slot, err),
    )
  }

  /**
   * SPUBLISH, on the channel's shard: the channels are shard channels (subscribed by shard-subscribers.ts).
   * Its count is of the subscribers on the node it ran on, the master, where they are placed while it answers.
   */
  publish(channel: string, message: string): Promise<number> {
    const slot = keySlot(channel)
    return this.cmd.spublish(channel, message).then(
      (n) => this.worked(slot, Number(n)),
      (err) => this.failed(slot, err),
    )
  }

  close(): void {
    this.ready = false
    clearInterval(this.probeTimer)
    this.subs.close()
    this.cmd.disconnect()
  }

  /** A command on `slot`'s shard failed: note the shard failing, and if the slot map may be out of date (a shard failing over), have it read again. */
  private failed(slot: number, err: unknown): never {
    // Anything but a script's own error says something about the shard (down, moving, slow, no replica confirming).
    if (!(err instanceof ReplyError) || neverRan(err)) {
      const master = this.cmd.slots[slot]?.[0] ?? `slot ${slot}`
      if (!this.failing.has(master)) this.failing.set(master, { since: Date.now(), slot })
      this.refresh()
    }
    throw err
  }

  /**
   * A command on `slot`'s shard worked: it is not failing, and neither is a node that no longer serves as a
   * master, or no longer serves the slot its command failed on (a slot moved away during a resharding: the node
   * may carry no room now, so no command of its own would ever clear it).
   */
  private worked<T>(slot: number, value: T): T {
    if (this.failing.size > 0) {
      const masters = new Set(this.cmd.nodes('master').map((n) => `${n.options.host}:${n.options.port}`))
      this.failing.delete(this.cmd.slots[slot]?.[0] ?? `slot ${slot}`)
      for (const [node, f] of this.failing) if (!masters.has(node) || this.cmd.slots[f.slot]?.[0] !== node) this.failing.delete(node)
    }
    return value
  }

  private refresh(): void {
    const now = Date.now()
    if (now - this.lastRefresh < REFRESH_EVERY_MS || this.cmd.status !== 'ready') return
    this.lastRefresh = now
    this.cmd.refreshSlotsCache()
  }

  /**
   * The latency probe, per node: PING every master the client is connected to, and every subscriber
   * connection (one PING in flight each). A master unanswered after `timeoutMs` takes its shard's rooms
   * down until it answers; a subscriber connection is reconnected (its channels go to another node of
   * their shard meanwhile).
   */
  private probe(timeoutMs: number): void {
    if (!this.ready) return
    this.subs.probe(timeoutMs)
    for (const node of this.cmd.nodes('master')) {
      const key = `${node.options.host}:${node.options.port}`
      if (node.status !== 'ready' || this.probing.has(key)) continue
      this.probing.add(key)
      let answered = false
      const done = () => {
        answered = true
        clearTimeout(deadline)
        this.probing.delete(key)
        if (this.slow.delete(key)) this.say(`redis cluster: ${key} answers again`)
      }
      // Checked once pending I/O has been read, so a late timer on a busy event loop does not call a node slow.
      const deadline = setTimeout(
        () =>
          setImmediate(() => {
            if (answered || this.slow.has(key)) return
            this.slow.set(key, Date.now())
            this.say(`redis cluster: ${key} not answering; rooms on its shard refuse publishes until it does`, 'warn')
          }),
        timeoutMs,
      )
      node.ping().then(done, done)
    }
  }

  private connectMasters(): void {
    // Not before the client is ready: it connects the nodes it needs for that itself.
    if (this.cmd.status !== 'ready') return
    for (const node of this.cmd.nodes('master')) if (node.status === 'wait') node.connect().catch(() => {})
  }

  private check(): void {
    const ready = this.cmd.status === 'ready'
    if (ready === this.ready) return
    this.ready = ready
    if (ready) {
      this.say('redis cluster connected')
      this.connectMasters()
      this.subs.follow()
    } else {
      this.downSince = Date.now()
      this.say('redis cluster unreachable; publishes and new members are refused until it returns', 'warn')
    }
  }
}
