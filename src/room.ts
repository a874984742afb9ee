/** One room: members, sequence numbers (through its log), fan-out and per-connection limits. */
import type { Clock } from './clock.ts'
import { realClock } from './clock.ts'
import type { Config } from './config.ts'
import type { Connection, JoinRequest, MemberInfo } from './connection.ts'
import { newConnectionId } from './connection.ts'
import type { Draft, Entry, EntryKind } from './entry.ts'
import { encodeJson } from './entry.ts'
import { countInWindow, exceedsBytes, takeToken } from './limits.ts'
import type { Fanout } from './fanout.ts'
import { FanoutGroup } from './fanout.ts'
import { Member } from './member.ts'
import type { ErrorCode, WelcomeFrame } from './protocol.ts'
import { Errors, PONG, closeReason, decodeClientFrame, encodeAck, encodeError, encodePresence } from './protocol.ts'
import type { LogFactory, Replay, RoomLog } from './room-log.ts'
import { Unavailable } from './room-log.ts'

/** What a room needs from its surroundings. */
export interface RoomOptions {
  config: Config
  logs: LogFactory
  clock?: Clock
  /** Where unexpected errors go; never up into the runtime. */
  onError?: (err: unknown) => void
  /** The runtime's native one-to-many send, where it has one (Bun); without it the room sends to each member. */
  fanout?: Fanout
  /**
   * Schedule a call to `Room.expire()` at `at` (Unix ms), replacing any earlier schedule.
   * Default: a clock timer. Cloudflare sets a storage alarm instead, because a pending
   * setTimeout keeps a Durable Object from hibernating.
   */
  scheduleExpiry?: (at: number) => void
}

/** `GET /rooms/:room` */
export interface RoomStats {
  room: string
  connections: number
  seq: number
}

const FLOOD_WINDOW_MS = 10_000
const BAD_FRAME_WINDOW_MS = 60_000
/** Longest delay a timer takes on every runtime (2^31-1 ms, about 24.8 days); longer waits re-arm. */
const MAX_TIMER_MS = 2_147_483_647

/** One room of one process (or the whole room, in a Durable Object). */
export class Room {
  private readonly members = new Set<Member>()
  private readonly log: RoomLog
  private readonly config: Config
  private readonly clock: Clock
  private readonly onError: (err: unknown) => void
  private presenceTimer: unknown = undefined
  private lastPresence = -1
  /** Set when the runtime fans out natively: then sends bypass sendTo, and buffers are checked once a turn. */
  private readonly group: FanoutGroup | undefined
  private bufferCheck: unknown = undefined
  /** One timer for the room's next credential expiry, so an expired member is closed on time, not at the next sweep. */
  private expiryTimer: unknown = undefined
  private expiryAt = Infinity
  private readonly scheduleExpiry: ((at: number) => void) | undefined
  /** When the room last became empty (for the hub's cleanup). */
  emptySince: number

  constructor(
    readonly name: string,
    options: RoomOptions,
  ) {
    this.config = options.config
    this.clock = options.clock ?? realClock
    this.onError = options.onError ?? ((err) => console.error('roomcast:', err))
    this.scheduleExpiry = options.scheduleExpiry
    this.log = options.logs(name, {
      deliver: this.deliver,
      membersChanged: () => this.schedulePresence(),
      lost: () => this.closeAll('resync'),
    })
    this.emptySince = this.clock.now()
    if (options.fanout !== undefined) this.group = new FanoutGroup(options.fanout, name, (e) => encodeJson(name, e))
  }

  /** Members on this instance. */
  get size(): number {
    return this.members.size
  }

  /** Whether the room is at MAX_ROOM_CONNECTIONS (on this instance): a new member would be refused. */
  get full(): boolean {
    return this.members.size >= this.config.maxRoomConnections
  }

  /** Resolves when a connection opened from now on misses nothing; rejects with Unavailable when the backend is down. */
  ready(): Promise<void> {
    return this.log.ready?.() ?? Promise.resolve()
  }

  /** Add a connection; it gets its welcome (and replay) before any live message. Null if the room is full. */
  join(conn: Connection, req: JoinRequest): Member | null {
    if (this.full) {
      closeQuietly(conn, 'room_full', this.onError)
      return null
    }
    const info: MemberInfo = { id: newConnectionId(), mode: req.mode, canPublish: req.canPublish ?? true }
    if (req.from !== undefined) info.from = req.from
    if (req.exp !== undefined) info.exp = req.exp
    const m = new Member(conn, info, this.clock.now(), this.config.rateBurst)
    m.pending = []
    this.members.add(m)
    this.group?.joining.add(m)
    this.watchExpiry(m)
    this.schedulePresence()
    this.welcome(m, req).catch((err) => {
      if (err instanceof Unavailable) return this.drop(m, 'backend_down')
      this.onError(err)
      this.drop(m, 'internal')
    })
    return m
  }

  /** Re-admit a member whose info survived elsewhere (a Durable Object waking from hibernation). */
  restore(conn: Connection, info: MemberInfo): Member {
    const m = new Member(conn, info, this.clock.now(), this.config.rateBurst)
    this.members.add(m)
    this.group?.live(m)
    this.watchExpiry(m)
    this.lastPresence = this.log.members(this.members.size)
    return m
  }

  /** Handle one frame from a member: text as a string, binary as bytes. */
  receive(m: Member, data: string | Uint8Array): void {
    if (m.closed) return
    const now = this.clock.now()
    m.lastSeen = now
    if (expired(m, now)) return this.drop(m, 'token_expired')
    if (exceedsBytes(data, this.config.maxFrameBytes)) return this.drop(m, 'too_large')
    if (m.info.mode === 'raw') {
      if (typeof data === 'string') this.publishFrom(m, 'text', data, undefined, now)
      else this.publishFrom(m, 'binary', data, undefined, now)
      return
    }
    if (typeof data !== 'string') return this.drop(m, 'binary_unsupported')
    const d = decodeClientFrame(data)
    if (!d.ok) return this.badFrame(m, d.code, d.message, d.id, now)
    if (d.frame.type === 'ping') return this.sendTo(m, PONG)
    const value = d.frame.data
    if (typeof value === 'string') this.publishFrom(m, 'text', value, d.frame.id, now)
    else this.publishFrom(m, 'json', d.dataJson as string, d.frame.id, now)
  }

  /** The member showed it is alive (a pong). */
  touch(m: Member): void {
    m.lastSeen = this.clock.now()
  }

  /** The member's socket closed. */
  leave(m: Member): void {
    if (m.closed) return
    m.closed = true
    this.remove(m)
  }

  /** Publish from outside the room (HTTP). Rejects with Unavailable when it cannot be published. */
  publish(kind: EntryKind, body: string | Uint8Array, from?: string): Promise<number> {
    const draft: Draft = { kind, body, ts: this.clock.now() }
    if (from !== undefined) draft.from = from
    return this.log.append(draft)
  }

  /** Counts and position, for `GET /rooms/:room`. */
  async stats(): Promise<RoomStats> {
    const head = await this.log.head()
    return { room: this.name, connections: this.log.members(this.members.size), seq: head.seq }
  }

  /** Close members whose credentials expired (4001), then schedule the next expiry. Called by the expiry timer or alarm. */
  readonly expire = (): void => {
    this.expiryTimer = undefined
    this.expiryAt = Infinity
    const now = this.clock.now()
    for (const m of this.members) if (expired(m, now)) this.drop(m, 'token_expired')
    for (const m of this.members) this.watchExpiry(m)
  }

  /** Ping members where the runtime lets us, and close those idle too long. (Expiry has its own timer: `expire`.) */
  sweep(now: number = this.clock.now()): void {
    for (const m of this.members) {
      if (m.conn.ping === undefined) continue
      if (now - m.lastSeen > this.config.idleTimeoutMs) {
        this.drop(m, 'idle_timeout')
        // A peer that answers no ping will not answer the close frame either: free its socket now rather
        // than when the runtime gives up on the close handshake (ws: 30 s).
        m.conn.terminate?.()
      } else m.conn.ping()
    }
  }

  /** Close every member with `code` (shutdown). */
  closeAll(code: ErrorCode = 'shutting_down'): void {
    for (const m of this.members) this.drop(m, code)
  }

  /** Release the room's log; the room must be empty. */
  dispose(): void {
    if (this.presenceTimer !== undefined) this.clock.clearTimeout(this.presenceTimer)
    if (this.bufferCheck !== undefined) this.clock.clearTimeout(this.bufferCheck)
    if (this.expiryTimer !== undefined) this.clock.clearTimeout(this.expiryTimer)
    this.log.close()
  }

  // ---- internals ----

  /** Schedule `expire` if `m`'s credentials expire before the room's next expiry. */
  private watchExpiry(m: Member): void {
    const exp = m.info.exp
    if (exp === undefined || exp >= this.expiryAt) return
    this.expiryAt = exp
    if (this.scheduleExpiry !== undefined) return this.scheduleExpiry(exp)
    if (this.expiryTimer !== undefined) this.clock.clearTimeout(this.expiryTimer)
    this.expiryTimer = this.clock.setTimeout(this.expire, Math.min(Math.max(0, exp - this.clock.now()), MAX_TIMER_MS))
  }

  private async welcome(m: Member, req: JoinRequest): Promise<void> {
    // Runs synchronously up to the first await, so the join point is taken as the member joins.
    const replay: Replay =
      req.since !== undefined
        ? await this.log.replay(req.since, req.epoch)
        : { ...(await (this.log.joinPoint?.() ?? this.log.head())), entries: [], complete: true }
    if (m.closed) return
    if (m.info.mode === 'json') {
      const frame: WelcomeFrame = { type: 'welcome', room: this.name, connectionId: m.info.id, seq: replay.seq, epoch: replay.epoch }
      if (req.since !== undefined) frame.resumed = { since: req.since, complete: replay.complete }
      this.sendTo(m, JSON.stringify(frame))
    }
    for (const e of replay.entries) this.sendEntry(m, e)
    const pending = m.pending ?? []
    m.pending = null
    for (const e of pending) if (e.seq > replay.seq) this.sendEntry(m, e)
    this.group?.live(m)
    if (m.info.mode === 'json') this.tellPresence(m, this.log.members(this.members.size), undefined)
  }

  /** Fan-out: encode once per mode, then send the same string or bytes to every member (or to each mode's topic). */
  private readonly deliver = (entry: Entry): void => {
    if (this.group !== undefined) {
      this.group.deliver(entry)
      return this.checkBuffersSoon()
    }
    const raw = entry.body
    let json: string | undefined
    for (const m of this.members) {
      if (m.pending !== null) m.pending.push(entry)
      else if (m.info.mode === 'raw') this.sendTo(m, raw)
      else if (m.info.id !== entry.origin) {
        // Encoded once per broadcast, and only if a json member needs it.
        json ??= encodeJson(this.name, entry)
        this.sendTo(m, json)
      }
    }
  }

  private sendEntry(m: Member, e: Entry): void {
    if (m.info.mode === 'raw') this.sendTo(m, e.body)
    else if (m.info.id !== e.origin) this.sendTo(m, encodeJson(this.name, e))
  }

  private publishFrom(m: Member, kind: EntryKind, body: string | Uint8Array, id: string | undefined, now: number): void {
    const json = m.info.mode === 'json'
    if (!m.info.canPublish) {
      if (json) this.sendTo(m, encodeError('forbidden', undefined, id))
      return
    }
    if (!takeToken(m.bucket, now, this.config.rateLimit, this.config.rateBurst)) {
      if (countInWindow(m.strikes, now, FLOOD_WINDOW_MS) > this.config.floodStrikes) return this.drop(m, 'flooding')
      if (json) this.sendTo(m, encodeError('rate_limited', undefined, id))
      return
    }
    const draft: Draft = { kind, body, ts: now, origin: m.info.id }
    if (m.info.from !== undefined) draft.from = m.info.from
    const appended = this.log.append(draft)
    if (id !== undefined) {
      appended.then(
        (seq) => this.sendTo(m, encodeAck(id, seq)),
        (err) => this.refused(m, err, id),
      )
    } else {
      appended.catch((err) => this.refused(m, err, undefined))
    }
  }

  private refused(m: Member, err: unknown, id: string | undefined): void {
    if (!(err instanceof Unavailable)) this.onError(err)
    if (m.info.mode === 'json') this.sendTo(m, encodeError('unavailable', undefined, id))
  }

  private badFrame(m: Member, code: ErrorCode, message: string, id: string | undefined, now: number): void {
    if (countInWindow(m.bad, now, BAD_FRAME_WINDOW_MS) > this.config.badFrameBudget) return this.drop(m, 'too_many_errors')
    this.sendTo(m, encodeError(code, message, id))
  }

  /** Send to one member; a send that throws closes that member only, and a slow consumer is closed. */
  private sendTo(m: Member, data: string | Uint8Array): void {
    if (m.closed) return
    try {
      m.conn.send(data)
    } catch (err) {
      this.onError(err)
      return this.drop(m, 'internal')
    }
    if (this.overBuffered(m)) this.drop(m, 'slow_consumer')
  }

  /** Whether more than MAX_BUFFERED_BYTES wait to be sent to `m` (never, where the runtime cannot tell). */
  private overBuffered(m: Member): boolean {
    const buffered = m.conn.bufferedAmount
    return buffered !== undefined && buffered.call(m.conn) > this.config.maxBufferedBytes
  }

  /** Remove a member and close its socket with the code's close code. */
  private drop(m: Member, code: ErrorCode): void {
    if (m.closed) return
    m.closed = true
    this.remove(m)
    closeQuietly(m.conn, code, this.onError)
  }

  private remove(m: Member): void {
    this.members.delete(m)
    this.group?.remove(m)
    if (this.members.size === 0) this.emptySince = this.clock.now()
    this.schedulePresence()
  }

  /** With native fan-out no send passes sendTo's check, so look at every member's buffer once this turn is over. */
  private checkBuffersSoon(): void {
    if (this.bufferCheck !== undefined) return
    this.bufferCheck = this.clock.setTimeout(() => {
      this.bufferCheck = undefined
      for (const m of this.members) if (this.overBuffered(m)) this.drop(m, 'slow_consumer')
    }, 0)
  }

  private schedulePresence(): void {
    if (this.presenceTimer !== undefined) return
    this.presenceTimer = this.clock.setTimeout(() => {
      this.presenceTimer = undefined
      this.broadcastPresence()
    }, this.config.presenceIntervalMs)
  }

  private broadcastPresence(): void {
    const count = this.log.members(this.members.size)
    if (count === this.lastPresence) return
    this.lastPresence = count
    let frame: string | undefined
    for (const m of this.members) if (m.info.mode === 'json' && m.pending === null) frame = this.tellPresence(m, count, frame)
  }

  /** Send `count` to a member that has not heard it yet; returns the encoded frame for reuse. */
  private tellPresence(m: Member, count: number, frame: string | undefined): string | undefined {
    if (m.presence === count) return frame
    m.presence = count
    frame ??= encodePresence(this.name, count)
    this.sendTo(m, frame)
    return frame
  }
}

/** Close a connection with the close code and reason an error code names. */
function closeQuietly(conn: Connection, code: ErrorCode, onError: (err: unknown) => void): void {
  const e = Errors[code]
  try {
    conn.close(e.close ?? 1000, closeReason(code))
  } catch (err) {
    onError(err)
  }
}

/** Whether `m`'s credentials have expired at `now`. */
function expired(m: Member, now: number): boolean {
  return m.info.exp !== undefined && now >= m.info.exp
}
