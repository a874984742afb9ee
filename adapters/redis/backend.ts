/**
 * The Redis side of several instances serving the same rooms, on one Redis
 * (single.ts) or a Redis Cluster (cluster.ts): the store each room's log
 * asks, and reports to. Sends the scripts' arguments, parses their replies,
 * and runs the presence heartbeat. A publish it could not complete is
 * `Unavailable` only when Redis certainly never got it, else `OutcomeUnknown`.
 */

import type {
  Appended,
  DedupeLimits,
  Draft,
  Entry,
  Health,
  LogFactory,
  LogLimits,
  Metrics,
  Once,
  RoomStats,
  RosterMember,
  RosterPage,
  RosterShare,
} from '../../src/index.ts'
import { OutcomeUnknown, Unavailable, dedupeLimits, entryBytes } from '../../src/index.ts'
import type { ClusterSettings } from './cluster.ts'
import { ClusterRedis } from './cluster.ts'
import { Deadlines } from './deadlines.ts'
import { RedisDirectory } from './directory.ts'
import { RedisLog } from './log.ts'
import type { Beat, Range, RoomListener, RoomStore, RosterPart } from './room-store.ts'
import { decodeShare } from './roster.ts'
import { COMMAND_TIMEOUT_MS, SingleRedis } from './single.ts'
import type { Transport, TransportEvents } from './transport.ts'
import { Unconfirmed, neverRan } from './transport.ts'
import type { RoomKeys } from './wire.ts'
import { draftJson, parseChannelMessage, parseHistoryItem, roomKeys, rosterKey } from './wire.ts'

export interface RedisBackendOptions {
  /** One Redis: its URL. */
  url?: string
  /** A Redis Cluster (instead of `url`): its nodes and how to reach them. */
  cluster?: ClusterSettings
  /** Prefix of every key and channel, so several deployments (or test runs) share one Redis. */
  prefix: string
  /** History limits, and the dedupe window and cap of publish keys (defaults: DEDUPE_DEFAULTS). */
  limits: LogLimits
  /** How long a room's keys outlive the last instance that had it open. */
  roomTtlMs: number
  /** How often each instance re-announces its member counts; a count expires after 3 of these. */
  heartbeatMs: number
  /** Where state changes are reported (once per change, not per retry); `warn` for going down and errors. */
  log?: (message: string, level?: 'info' | 'warn') => void
  /** Where each command's time goes (`roomcast_backend_command_seconds`). */
  metrics?: Metrics
  /** How often each connection is sent a latency PING (default PROBE_MS). */
  probeMs?: number
  /** A PING unanswered this long marks Redis (or, on a cluster, that node) as not answering: its rooms refuse publishes (default PROBE_TIMEOUT_MS). */
  probeTimeoutMs?: number
}

/** How often each connection gets a latency PING, by default. */
export const PROBE_MS = 500
/** How long a PING may go unanswered before Redis counts as not answering, by default: /readyz turns 503 within 1.5 s. */
export const PROBE_TIMEOUT_MS = 1000

/** The Redis side of several instances serving the same rooms: the store each room's log asks, and reports to. */
export class RedisBackend implements RoomStore {
  /** This instance's id in presence counts. */
  readonly instanceId = crypto.randomUUID().slice(0, 12)
  readonly prefix: string
  private readonly redis: Transport
  /** The rooms open on this instance, by channel: where channel messages and connection changes are reported. */
  private readonly rooms = new Map<string, RoomListener>()
  private readonly options: RedisBackendOptions
  private readonly say: (message: string, level?: 'info' | 'warn') => void
  private timer: ReturnType<typeof setInterval> | undefined
  private closing = false
  /** The channel other instances answer this one's admin questions on, once the admin API asked for it. */
  private instanceChannel: string | undefined
  /** The rooms of every instance, for the admin API. */
  readonly directory: RedisDirectory
  /** Every publish is answered within the command timeout of being asked, whatever ioredis (or a shard's batch) does with it meanwhile. */
  private readonly appendDeadlines = new Deadlines(COMMAND_TIMEOUT_MS)
  private readonly dedupe: DedupeLimits

  constructor(options: RedisBackendOptions) {
    this.options = options
    this.dedupe = dedupeLimits(options.limits)
    this.prefix = options.prefix
    this.say = options.log ?? ((m) => console.log(`roomcast: ${m}`))
    const events: TransportEvents = {
      message: (channel, text) => this.onMessage(channel, text),
      subscribed: (channel) => this.rooms.get(channel)?.onSubscribed(),
      down: (channel) => {
        if (!this.closing) this.rooms.get(channel)?.onDown()
      },
    }
    const probe = { everyMs: options.probeMs ?? PROBE_MS, timeoutMs: options.probeTimeoutMs ?? PROBE_TIMEOUT_MS }
    if (options.cluster !== undefined) this.redis = new ClusterRedis(options.cluster, events, this.say, probe)
    else if (options.url !== undefined) this.redis = new SingleRedis(options.url, events, this.say, probe)
    else throw new TypeError('RedisBackend needs a url or a cluster')
    const backend = this
    this.directory = new RedisDirectory(
      {
        prefix: this.prefix,
        instanceId: this.instanceId,
        get up() {
          return backend.up
        },
        run: (script, keys, args) => this.redis.directory(script, keys, args),
        publish: (channel, message) => this.redis.publish(channel, message),
        // The transport keeps it subscribed like a room's channel: again after a reconnect, on its shard on a cluster.
        listen: (channel) => {
          this.instanceChannel = channel
          this.redis.listen(channel)
        },
      },
      options.heartbeatMs,
    )
    this.timer = setInterval(() => this.heartbeat(), options.heartbeatMs)
    ;(this.timer as { unref?: () => void }).unref?.()
  }

  /** Whether this instance can serve rooms now (one Redis: it is reachable; a cluster: it is, though a shard may be failing over). */
  get up(): boolean {
    return !this.closing && this.redis.state().ready
  }

  /** The LogFactory rooms use: each room's log lives in Redis. */
  readonly logs: LogFactory = (room, sink) => new RedisLog(room, sink, this)

  /** For `/healthz` and `/readyz`. */
  health = (): Health => {
    const { ready, detail } = this.redis.state()
    const h: Health = { ready, backend: this.redis.name }
    if (detail !== undefined) h.detail = detail
    return h
  }

  /** `GET /rooms/:room` for a room not open on this instance, read without creating it. */
  statsElsewhere = async (room: string): Promise<RoomStats> => {
    if (!this.up) throw new Unavailable('redis unreachable')
    const k = roomKeys(this.prefix, room)
    try {
      const [seq, connections] = await this.timed('peek', this.redis.peek(k))
      return { room, connections: Number(connections), seq: Number(seq) }
    } catch (err) {
      throw this.failure(err, 'redis failed while reading room stats')
    }
  }

  /**
   * `GET /rooms/:room/presence` for a room not open on this instance: every live instance's part of its
   * v2 roster as Redis has it now (no grace period applies: subs with a connection somewhere), a page in
   * sub order. Two reads (the live leases, then their parts), O(the room's subs).
   */
  presenceElsewhere = async (room: string, limit: number, cursor?: string): Promise<RosterPage> => {
    if (!this.up) throw new Unavailable('redis unreachable')
    const k = roomKeys(this.prefix, room)
    let live: string[]
    let connections: number
    try {
      ;[live, [, connections = 0]] = await Promise.all([this.timed('live', this.redis.live(k)), this.timed('peek', this.redis.peek(k))])
    } catch (err) {
      throw this.failure(err, 'redis failed while reading the presence roster')
    }
    const subs = new Map<string, RosterMember>()
    if (live.length > 0)
      for (const part of (await this.rosterRead(k, live.map(String), false)).values())
        for (const [sub, share] of part.subs) {
          const m = subs.get(sub)
          if (m === undefined)
            subs.set(sub, share.info === undefined ? { sub, connections: share.connections } : { sub, connections: share.connections, info: share.info })
          else m.connections += share.connections
        }
    const after = [...subs.keys()].filter((s) => cursor === undefined || s > cursor).sort()
    const members = after.slice(0, limit).map((sub) => subs.get(sub) as RosterMember)
    const page: RosterPage = { room, connections: Number(connections), members }
    if (after.length > limit) page.cursor = members[members.length - 1]?.sub
    return page
  }

  /** Resolve once Redis is reachable (or after `timeoutMs`, with whether it is). */
  async whenUp(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs
    while (!this.up && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    return this.up
  }

  // ---- the RoomStore a room's log asks ----

  get confirmsAppends(): boolean {
    return this.redis.confirmsAppends
  }

  /** Give the room a new epoch if it is still in `epoch` (a rollback was seen); resolves with its epoch. */
  async rebase(keys: RoomKeys, epoch: string): Promise<string> {
    if (!this.redis.isUp(keys.channel)) throw new Unavailable('redis unreachable')
    try {
      const now = await this.redis.rebase(keys, epoch)
      this.say(`room ${keys.meta}: seqs it delivered were handed out again (a failover lost the end of its history); new epoch ${now}, its members resync`)
      return now
    } catch (err) {
      throw this.failure(err, 'redis failed while renaming a room history')
    }
  }

  isUp(room: RoomListener): boolean {
    return !this.closing && this.redis.isUp(room.keys.channel)
  }

  /** A room opened on this instance: subscribe to it; once subscribed, it places itself in the sequence. */
  open(room: RoomListener): void {
    this.rooms.set(room.keys.channel, room)
    this.redis.listen(room.keys.channel)
  }

  /** A room closed on this instance: stop listening. */
  release(room: RoomListener): void {
    if (this.rooms.get(room.keys.channel) !== room) return
    this.rooms.delete(room.keys.channel)
    this.redis.unlisten(room.keys.channel)
  }

  /**
   * Take the next seq, keep the entry in history and publish it: one atomic script. Rejects with
   * Unavailable when Redis certainly did not run it, with OutcomeUnknown when it may have (or may yet),
   * or, on a cluster, when no replica confirmed it.
   */
  async append(keys: RoomKeys, draft: Draft): Promise<number> {
    if (!this.redis.isUp(keys.channel)) throw new Unavailable('redis unreachable; nothing was published')
    const { limits, roomTtlMs } = this.options
    const body = entryBytes(draft)
    try {
      const appended = this.timed(
        'append',
        this.redis.append(keys, [keys.channel, body, draftJson(draft), limits.historyMessages, limits.historyBytes, roomTtlMs]),
      )
      // Past the deadline it may still be sent and run: that is OutcomeUnknown below, and an ack follows if it runs.
      return await this.appendDeadlines.within(appended, () => new Error(`Command timed out after ${COMMAND_TIMEOUT_MS} ms`))
    } catch (err) {
      const failure = this.failure(err, 'redis failed before confirming the publish')
      if (neverRan(err)) throw new Unavailable(`${failure.message}; nothing was published`)
      throw new OutcomeUnknown(failure.message)
    }
  }

  /** As `append`, unless `once.key` was appended within the window: the same script looks it up and appends. */
  async appendOnce(keys: RoomKeys, draft: Draft, once: Once): Promise<Appended> {
    if (!this.redis.isUp(keys.channel)) throw new Unavailable('redis unreachable; nothing was published')
    const { limits, roomTtlMs } = this.options
    const args = [keys.channel, entryBytes(draft), draftJson(draft), limits.historyMessages, limits.historyBytes, roomTtlMs]
    let r: (string | number)[]
    try {
      // Timed as `append`: it is the same script, with the publish key's lookup inside.
      const appended = this.timed('append', this.redis.appendOnce(keys, [...args, once.key, once.hash, this.dedupe.dedupeWindowMs, this.dedupe.dedupeMaxIds]))
      r = await this.appendDeadlines.within(appended, () => new Error(`Command timed out after ${COMMAND_TIMEOUT_MS} ms`))
    } catch (err) {
      // As for append: a resend of the same key is safe either way, and finds out which it was.
      const failure = this.failure(err, 'redis failed before confirming the publish')
      if (neverRan(err)) throw new Unavailable(`${failure.message}; nothing was published`)
      throw new OutcomeUnknown(failure.message)
    }
    return { seq: Number(r[0]), duplicate: Number(r[1]) !== 0, mismatch: Number(r[1]) === 2 }
  }

  /** The room's head and its history after `since` (all of it when `epoch` is not the room's). */
  async range(keys: RoomKeys, since: number, epoch: string | undefined): Promise<Range> {
    if (!this.redis.isUp(keys.channel)) throw new Unavailable('redis unreachable')
    let r: (string | number)[]
    try {
      r = await this.timed('range', this.redis.range(keys, [since, epoch ?? '', this.options.roomTtlMs]))
    } catch (err) {
      throw this.failure(err, 'redis failed while reading history')
    }
    const entries: Entry[] = []
    for (let i = 2; i < r.length; i++) entries.push(parseHistoryItem(String(r[i])))
    return { epoch: String(r[0]), seq: Number(r[1]), entries }
  }

  /** Write this instance's count for the room (announcing it if `publish`) and read everyone else's. */
  async beat(k: RoomKeys, count: number, publish: boolean): Promise<Beat> {
    if (!this.redis.isUp(k.channel)) throw new Unavailable('redis unreachable')
    let r: (string | number)[]
    try {
      r = await this.timed(
        'beat',
        this.redis.beat(k, rosterKey(k, this.instanceId), [
          this.instanceId,
          count,
          this.options.heartbeatMs * 3,
          this.options.roomTtlMs,
          k.channel,
          publish ? '1' : '0',
        ]),
      )
    } catch (err) {
      throw this.failure(err, 'redis failed during the presence heartbeat')
    }
    const others: [string, number][] = []
    for (let i = 4; i + 1 < r.length; i += 2) others.push([String(r[i]), Number(r[i + 1])])
    const versions = new Map<string, number>()
    const vs = String(r[3] ?? '')
    if (vs !== '')
      for (const pair of vs.split(',')) {
        const c = pair.lastIndexOf(':')
        versions.set(pair.slice(0, c), Number(pair.slice(c + 1)))
      }
    return { epoch: String(r[0]), seq: Number(r[1]), at: Number(r[2]), others, versions }
  }

  /** Write this instance's part of the room's v2 roster and announce it (scripts.ts, rosterWrite). */
  async rosterWrite(k: RoomKeys, reset: boolean, message: string, pairs: string[]): Promise<number> {
    if (!this.redis.isUp(k.channel)) throw new Unavailable('redis unreachable')
    try {
      const args = [this.instanceId, k.channel, this.options.heartbeatMs * 3, reset ? '1' : '0', message, ...pairs]
      return Number(await this.timed('roster_write', this.redis.rosterWrite(k, rosterKey(k, this.instanceId), args)))
    } catch (err) {
      throw this.failure(err, 'redis failed while writing the presence roster')
    }
  }

  /** Read these instances' parts of the room's v2 roster (scripts.ts, ROSTER_READ). */
  async rosterRead(k: RoomKeys, instances: string[], open = true): Promise<Map<string, RosterPart>> {
    // A room not open here has no channel subscribed here to say whether its shard is up: Redis answers or not.
    if (open ? !this.redis.isUp(k.channel) : !this.up) throw new Unavailable('redis unreachable')
    let r: unknown[]
    try {
      r = await this.timed(
        'roster_read',
        this.redis.rosterRead(
          k,
          instances.map((id) => rosterKey(k, id)),
          instances,
        ),
      )
    } catch (err) {
      throw this.failure(err, 'redis failed while reading the presence roster')
    }
    const parts = new Map<string, RosterPart>()
    instances.forEach((id, i) => {
      const flat = (r[2 * i + 1] ?? []) as string[]
      const subs = new Map<string, RosterShare>()
      for (let j = 0; j + 1 < flat.length; j += 2) {
        const share = decodeShare(String(flat[j + 1]))
        if (share !== undefined) subs.set(String(flat[j]), share)
      }
      parts.set(id, { version: Number(r[2 * i] ?? 0), subs })
    })
    return parts
  }

  /** Withdraw this instance's counts and disconnect (shutdown). Bounded by `timeoutMs`. */
  async close(timeoutMs = 1000): Promise<void> {
    if (this.timer !== undefined) clearInterval(this.timer)
    const withdraw = [...this.rooms.values()].filter((room) => this.redis.isUp(room.keys.channel)).map((room) => this.beat(room.keys, 0, true).catch(() => {}))
    this.closing = true
    if (withdraw.length > 0) await Promise.race([Promise.all(withdraw), new Promise((r) => setTimeout(r, timeoutMs))])
    this.redis.close()
  }

  // ---- internals ----

  private onMessage(channel: string, text: string): void {
    // The admin API's questions ride on the rooms' channels; the answers come on this instance's own.
    if (text.startsWith('a ')) return this.directory.onQuestion(text)
    if (channel === this.instanceChannel) return this.directory.onAnswer(text)
    const room = this.rooms.get(channel)
    if (room === undefined) return
    const m = parseChannelMessage(text)
    if (m === null) return
    if (m.type === 'entry') room.onEntry(m.epoch, m.entry)
    else if (m.type === 'presence') room.onPresence(m.instance, m.count, m.at)
    else room.onRoster(m.instance, m.version, m.changes)
  }

  private heartbeat(): void {
    if (!this.up) return
    for (const room of this.rooms.values()) if (this.redis.isUp(room.keys.channel)) room.onHeartbeat()
  }

  /** Observe how long `command` takes (answered or failed) in `roomcast_backend_command_seconds`. */
  private timed<T>(command: string, reply: Promise<T>): Promise<T> {
    const metrics = this.options.metrics
    if (metrics === undefined) return reply
    const t0 = metrics.now()
    const done = () => metrics.backendCommandSeconds.observeFor(command, (metrics.now() - t0) / 1000)
    reply.then(done, done)
    return reply
  }

  /** Turn a failed command into Unavailable, reporting errors that are not about the connection. */
  private failure(err: unknown, message: string): Unavailable {
    const text = err instanceof Error ? err.message : String(err)
    const expected = err instanceof Unconfirmed || neverRan(err) || /Connection is closed|max retries|writeable|timed out/i.test(text)
    if (this.up && !expected) this.say(`redis error: ${text}`, 'warn')
    return new Unavailable(`${message} (${text})`)
  }
}
