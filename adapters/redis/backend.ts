/**
 * The Redis connections of one instance: one for commands, one for pub/sub.
 * Tracks whether both are up (publishes are refused, fast, while they are not),
 * resubscribes and re-syncs every open room when they return, and runs the
 * presence heartbeat.
 */
import { Redis } from 'ioredis'
import type { RedisOptions } from 'ioredis'
import { Unavailable, entryBytes } from '../../src/index.ts'
import type { Draft, Entry, Health, HistoryLimits, LogFactory, RoomStats } from '../../src/index.ts'
import { RedisLog } from './log.ts'
import type { Beat, Range, RoomListener, RoomStore } from './room-store.ts'
import { APPEND, BEAT, PEEK, RANGE } from './scripts.ts'
import type { RoomKeys } from './wire.ts'
import { draftJson, parseChannelMessage, parseHistoryItem, roomKeys } from './wire.ts'

export interface RedisBackendOptions {
  url: string
  /** Prefix of every key and channel, so several deployments (or test runs) share one Redis. */
  prefix: string
  limits: HistoryLimits
  /** How long a room's keys outlive the last instance that had it open. */
  roomTtlMs: number
  /** How often each instance re-announces its member counts; a count expires after 3 of these. */
  heartbeatMs: number
  /** Where state changes are reported (once per change, not per retry). */
  log?: (message: string) => void
}

type Scripted = Redis & {
  rcAppend(meta: string, log: string, ...args: (string | number)[]): Promise<number>
  rcRange(meta: string, log: string, ...args: (string | number)[]): Promise<(string | number)[]>
  rcBeat(meta: string, log: string, presence: string, ...args: (string | number)[]): Promise<(string | number)[]>
  rcPeek(meta: string, presence: string): Promise<number[]>
}

/** Connection settings that make failures fast and explicit instead of queued. */
const FAIL_FAST: RedisOptions = {
  // A command while disconnected fails at once: no offline queue to pile publishes into.
  enableOfflineQueue: false,
  // A command in flight when the connection drops fails at the first reconnect attempt, and is never resent
  // (resending an append whose reply was lost could publish it twice).
  maxRetriesPerRequest: 0,
  autoResendUnfulfilledCommands: false,
  // We resubscribe ourselves, then re-sync each room from history.
  autoResubscribe: false,
  retryStrategy: (times) => Math.min(50 * times, 1000),
  connectTimeout: 2000,
  // A Redis that stops answering without closing the socket still fails commands in bounded time.
  commandTimeout: 5000,
  keepAlive: 10_000,
}

/** The Redis side of several instances serving the same rooms: the store each room's log asks, and reports to. */
export class RedisBackend implements RoomStore {
  /** This instance's id in presence counts. */
  readonly instanceId = crypto.randomUUID().slice(0, 12)
  readonly prefix: string
  /** Both connections are ready. */
  up = false
  private readonly cmd: Scripted
  private readonly sub: Redis
  /** The rooms open on this instance, by channel: where channel messages and connection changes are reported. */
  private readonly rooms = new Map<string, RoomListener>()
  private readonly options: RedisBackendOptions
  private readonly say: (message: string) => void
  private downSince = Date.now()
  private lastError = 'connecting'
  private timer: ReturnType<typeof setInterval> | undefined
  private closing = false

  constructor(options: RedisBackendOptions) {
    this.options = options
    this.prefix = options.prefix
    this.say = options.log ?? ((m) => console.log(`roomcast: ${m}`))
    this.cmd = new Redis(options.url, { ...FAIL_FAST, enableAutoPipelining: true }) as Scripted
    this.sub = new Redis(options.url, FAIL_FAST)
    this.cmd.defineCommand('rcAppend', { numberOfKeys: 2, lua: APPEND })
    this.cmd.defineCommand('rcRange', { numberOfKeys: 2, lua: RANGE })
    this.cmd.defineCommand('rcBeat', { numberOfKeys: 3, lua: BEAT })
    this.cmd.defineCommand('rcPeek', { numberOfKeys: 2, lua: PEEK })
    for (const conn of [this.cmd, this.sub]) {
      conn.on('ready', () => this.check())
      conn.on('close', () => this.check())
      conn.on('error', (err: Error) => {
        this.lastError = err.message
      })
    }
    this.sub.on('message', (channel: string, text: string) => this.onMessage(channel, text))
    this.timer = setInterval(() => this.heartbeat(), options.heartbeatMs)
    ;(this.timer as { unref?: () => void }).unref?.()
  }

  /** The LogFactory rooms use: each room's log lives in Redis. */
  readonly logs: LogFactory = (room, sink) => new RedisLog(room, sink, this)

  /** For `/healthz` and `/readyz`. */
  health = (): Health => {
    if (this.up) return { ready: true, backend: 'redis' }
    const since = new Date(this.downSince).toISOString()
    return { ready: false, backend: 'redis', detail: `redis unreachable since ${since}: ${this.lastError}` }
  }

  /** `GET /rooms/:room` for a room not open on this instance, read without creating it. */
  statsElsewhere = async (room: string): Promise<RoomStats> => {
    if (!this.up) throw new Unavailable('redis unreachable')
    const k = roomKeys(this.prefix, room)
    try {
      const [seq, connections] = await this.cmd.rcPeek(k.meta, k.presence)
      return { room, connections: Number(connections), seq: Number(seq) }
    } catch (err) {
      throw this.failure(err, 'redis failed while reading room stats')
    }
  }

  /** Resolve once both connections are up (or after `timeoutMs`, with whether they are). */
  async whenUp(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs
    while (!this.up && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
    return this.up
  }

  // ---- the RoomStore a room's log asks ----

  /** A room opened on this instance: subscribe to it; once subscribed, it places itself in the sequence. */
  open(room: RoomListener): void {
    this.rooms.set(room.keys.channel, room)
    if (this.up) this.subscribe([room])
  }

  /** A room closed on this instance: stop listening. */
  release(room: RoomListener): void {
    if (this.rooms.get(room.keys.channel) === room) this.rooms.delete(room.keys.channel)
    if (this.up) this.sub.unsubscribe(room.keys.channel).catch(() => {})
  }

  /** Take the next seq, keep the entry in history and publish it: one atomic script. */
  async append(keys: RoomKeys, draft: Draft): Promise<number> {
    if (!this.up) throw new Unavailable('redis unreachable; nothing was published')
    const { limits, roomTtlMs } = this.options
    const body = entryBytes(draft)
    try {
      return await this.cmd.rcAppend(
        keys.meta, keys.log,
        keys.channel, body, draftJson(draft), limits.historyMessages, limits.historyBytes, roomTtlMs,
      )
    } catch (err) {
      throw this.failure(err, 'redis failed before confirming the publish')
    }
  }

  /** The room's head and its history after `since` (all of it when `epoch` is not the room's). */
  async range(keys: RoomKeys, since: number, epoch: string | undefined): Promise<Range> {
    if (!this.up) throw new Unavailable('redis unreachable')
    let r: (string | number)[]
    try {
      r = await this.cmd.rcRange(keys.meta, keys.log, since, epoch ?? '', this.options.roomTtlMs)
    } catch (err) {
      throw this.failure(err, 'redis failed while reading history')
    }
    const entries: Entry[] = []
    for (let i = 2; i < r.length; i++) entries.push(parseHistoryItem(String(r[i])))
    return { epoch: String(r[0]), seq: Number(r[1]), entries }
  }

  /** Write this instance's count for the room (announcing it if `publish`) and read everyone else's. */
  async beat(k: RoomKeys, count: number, publish: boolean): Promise<Beat> {
    if (!this.up) throw new Unavailable('redis unreachable')
    let r: (string | number)[]
    try {
      r = await this.cmd.rcBeat(
        k.meta, k.log, k.presence,
        this.instanceId, count, this.options.heartbeatMs * 3, this.options.roomTtlMs, k.channel, publish ? '1' : '0',
      )
    } catch (err) {
      throw this.failure(err, 'redis failed during the presence heartbeat')
    }
    const others: [string, number][] = []
    for (let i = 3; i + 1 < r.length; i += 2) others.push([String(r[i]), Number(r[i + 1])])
    return { epoch: String(r[0]), seq: Number(r[1]), at: Number(r[2]), others }
  }

  /** Withdraw this instance's counts and disconnect (shutdown). Bounded by `timeoutMs`. */
  async close(timeoutMs = 1000): Promise<void> {
    this.closing = true
    if (this.timer !== undefined) clearInterval(this.timer)
    if (this.up) {
      const withdraw = [...this.rooms.values()].map((room) => this.beat(room.keys, 0, true).catch(() => {}))
      await Promise.race([Promise.all(withdraw), new Promise((r) => setTimeout(r, timeoutMs))])
    }
    this.cmd.disconnect()
    this.sub.disconnect()
  }

  // ---- internals ----

  /** Follow the connections' state: going down rejects waiters, coming back resubscribes and re-syncs. */
  private check(): void {
    const up = !this.closing && this.cmd.status === 'ready' && this.sub.status === 'ready'
    if (up === this.up) return
    this.up = up
    if (!up) {
      this.downSince = Date.now()
      if (this.closing) return
      this.say('redis unreachable; publishes and new members are refused until it returns')
      for (const room of this.rooms.values()) room.onDown()
      return
    }
    this.lastError = 'connection lost'
    this.say(`redis connected; ${this.rooms.size} room(s) resubscribing`)
    this.subscribe([...this.rooms.values()])
  }

  /** Subscribe, then (subscribed, so nothing published after the read is missed) sync and re-announce. */
  private subscribe(rooms: RoomListener[]): void {
    if (rooms.length === 0) return
    this.sub.subscribe(...rooms.map((r) => r.keys.channel)).then(
      () => {
        for (const room of rooms) room.onSubscribed()
      },
      // The connection dropped again; its return resubscribes everything.
      () => {},
    )
  }

  private onMessage(channel: string, text: string): void {
    const room = this.rooms.get(channel)
    if (room === undefined) return
    const m = parseChannelMessage(text)
    if (m === null) return
    if (m.type === 'entry') room.onEntry(m.epoch, m.entry)
    else room.onPresence(m.instance, m.count, m.at)
  }

  private heartbeat(): void {
    if (!this.up) return
    for (const room of this.rooms.values()) room.onHeartbeat()
    // A connection that silently stopped (a partition) is only noticed by asking it something: reconnect it.
    for (const conn of [this.cmd, this.sub]) conn.ping().catch(() => this.up && conn.disconnect(true))
  }

  /** Turn a failed command into Unavailable, reporting errors that are not about the connection. */
  private failure(err: unknown, message: string): Unavailable {
    const text = err instanceof Error ? err.message : String(err)
    if (this.up && !/Connection is closed|max retries|writeable|timed out/i.test(text)) this.say(`redis error: ${text}`)
    return new Unavailable(`${message} (${text})`)
  }
}
