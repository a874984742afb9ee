/**
 * One room: its membership, what it receives from a member, and what it
 * sends. Sequence numbers and history come from its log (log/), live entries
 * reach members through its delivery (delivery.ts, topics.ts), and presence
 * and credential expiry have helpers of their own (presence.ts, expiry.ts).
 */
import type { Clock } from '../config/clock.ts'
import { realClock } from '../config/clock.ts'
import type { Config } from '../config/config.ts'
import type { Hooks, MessageRequest, MessageResult } from '../hooks/hooks.ts'
import { REJECTED_MESSAGE, Rejected, encodeRejection, isRejection } from '../hooks/hooks.ts'
import type { Draft, EntryKind } from '../log/entry.ts'
import type { LogFactory, Replay, RoomLog } from '../log/room-log.ts'
import { Unavailable } from '../log/room-log.ts'
import { decodeClientFrame } from '../wire/decode.ts'
import { PONG, encodeAck, encodeError, encodeWelcome } from '../wire/encode.ts'
import type { ErrorCode } from '../wire/errors.ts'
import { Errors, closeReason } from '../wire/errors.ts'
import { normaliseFrame } from '../wire/payload.ts'
import type { Connection, JoinRequest, MemberInfo } from './connection.ts'
import { newConnectionId } from './connection.ts'
import type { Delivery, SendTo } from './delivery.ts'
import { MemberLoop, sendEntry } from './delivery.ts'
import { ExpiryTimer, expired } from './expiry.ts'
import { countInWindow, exceedsBytes, takeToken } from './limits.ts'
import { Member } from './member.ts'
import { Presence } from './presence.ts'
import type { Fanout } from './topics.ts'
import { TopicDelivery } from './topics.ts'

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
  /** The application's hooks; the room runs `message` before it gives a publish a seq. */
  hooks?: Hooks
}

/** `GET /rooms/:room` */
export interface RoomStats {
  room: string
  connections: number
  seq: number
}

const FLOOD_WINDOW_MS = 10_000
const BAD_FRAME_WINDOW_MS = 60_000

/** One room of one process (or the whole room, in a Durable Object). */
export class Room {
  private readonly members = new Set<Member>()
  private readonly log: RoomLog
  private readonly config: Config
  private readonly clock: Clock
  private readonly onError: (err: unknown) => void
  /** `sendTo` as one function per room (not per recipient), for the helpers that send. */
  private readonly sender: SendTo = (m, data) => this.sendTo(m, data)
  private readonly delivery: Delivery
  private readonly presence: Presence
  private readonly expiry: ExpiryTimer
  private readonly messageHook: Hooks['message']
  /** Pending once-a-turn buffer check, where the delivery's sends bypass sendTo (a runtime's topics). */
  private bufferCheck: unknown = undefined
  /** When the room last became empty (for the hub's cleanup). */
  emptySince: number

  constructor(
    readonly name: string,
    options: RoomOptions,
  ) {
    this.config = options.config
    this.clock = options.clock ?? realClock
    this.onError = options.onError ?? ((err) => console.error('roomcast:', err))
    this.messageHook = options.hooks?.message
    this.delivery =
      options.fanout === undefined
        ? new MemberLoop(name, this.members, this.sender)
        : new TopicDelivery(options.fanout, name, this.sender, () => this.checkBuffersSoon())
    this.expiry = new ExpiryTimer(this.clock, this.expire, options.scheduleExpiry)
    this.presence = new Presence(name, this.clock, this.config.presenceIntervalMs, this.members, () => this.log.members(this.members.size), this.sender)
    this.log = options.logs(name, {
      deliver: (entry) => this.delivery.deliver(entry),
      membersChanged: () => this.presence.changed(),
      lost: () => this.closeAll('resync'),
    })
    this.emptySince = this.clock.now()
  }

  // ---- membership ----

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
    this.members.add(m)
    this.delivery.joining(m)
    this.expiry.watch(info.exp)
    this.presence.changed()
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
    this.delivery.live(m, 0)
    this.expiry.watch(info.exp)
    this.presence.known(this.log.members(this.members.size))
    return m
  }

  /** The member's socket closed. */
  leave(m: Member): void {
    if (m.closed) return
    m.closed = true
    this.remove(m)
  }

  /** Close members whose credentials expired (4001), then watch the next expiry. Called by the expiry timer or alarm. */
  readonly expire = (): void => {
    this.expiry.reset()
    const now = this.clock.now()
    for (const m of this.members) if (expired(m.info.exp, now)) this.drop(m, 'token_expired')
    for (const m of this.members) this.expiry.watch(m.info.exp)
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

  /** Release the room's log and timers; the room must be empty. */
  dispose(): void {
    this.presence.dispose()
    this.expiry.dispose()
    if (this.bufferCheck !== undefined) this.clock.clearTimeout(this.bufferCheck)
    this.log.close()
  }

  /** Counts and position, for `GET /rooms/:room`. */
  async stats(): Promise<RoomStats> {
    const head = await this.log.head()
    return { room: this.name, connections: this.log.members(this.members.size), seq: head.seq }
  }

  // ---- receive ----

  /**
   * Handle one frame from a member, as the runtime handed it over: text as a
   * string, binary as bytes (an ArrayBuffer or a view). Anything else closes
   * the member with 1003 `unsupported_payload`.
   */
  receive(m: Member, payload: unknown): void {
    if (m.closed) return
    const data = normaliseFrame(payload)
    if (data === null) return this.drop(m, 'unsupported_payload')
    const now = this.clock.now()
    m.lastSeen = now
    if (expired(m.info.exp, now)) return this.drop(m, 'token_expired')
    if (exceedsBytes(data, this.config.maxFrameBytes)) return this.drop(m, 'too_large')
    if (m.info.mode === 'raw') {
      if (typeof data === 'string') this.publishFrom(m, 'text', data, undefined, now, data)
      else this.publishFrom(m, 'binary', data, undefined, now, data)
      return
    }
    if (typeof data !== 'string') return this.drop(m, 'binary_unsupported')
    const d = decodeClientFrame(data)
    if (!d.ok) return this.badFrame(m, d.code, d.message, d.id, now)
    if (d.frame.type === 'ping') return this.sendTo(m, PONG)
    const value = d.frame.data
    if (typeof value === 'string') this.publishFrom(m, 'text', value, d.frame.id, now, value)
    else this.publishFrom(m, 'json', d.dataJson as string, d.frame.id, now, value)
  }

  /** The member showed it is alive (a pong). */
  touch(m: Member): void {
    m.lastSeen = this.clock.now()
  }

  /**
   * Publish from outside the room (HTTP). Rejects with Unavailable when it cannot be published,
   * and with Rejected when the `message` hook refused it (or failed).
   */
  async publish(kind: EntryKind, body: string | Uint8Array, from?: string): Promise<number> {
    const draft: Draft = { kind, body, ts: this.clock.now() }
    if (from !== undefined) draft.from = from
    if (this.messageHook !== undefined) {
      const data = kind === 'json' ? JSON.parse(body as string) : body
      let verdict: MessageResult
      try {
        verdict = await this.messageHook(this.messageRequest(kind, data, from))
      } catch (err) {
        this.onError(err)
        throw new Rejected('hook_failed', Errors.hook_failed.message, 500)
      }
      if (isRejection(verdict)) throw new Rejected(verdict.reject, verdict.message ?? REJECTED_MESSAGE)
    }
    return this.log.append(draft)
  }

  /** `data` is the published value as the `message` hook sees it (the parsed JSON, the text or the bytes). */
  private publishFrom(m: Member, kind: EntryKind, body: string | Uint8Array, id: string | undefined, now: number, data: unknown): void {
    const json = m.info.mode === 'json'
    if (!m.info.canPublish) {
      if (json) this.sendTo(m, encodeError('forbidden', undefined, id))
      return
    }
    if (!takeToken(m.bucket, now, this.config.rateLimit, this.config.rateBurst)) {
      if (countInWindow(m.rateRefusals, now, FLOOD_WINDOW_MS) > this.config.floodStrikes) return this.drop(m, 'flooding')
      if (json) this.sendTo(m, encodeError('rate_limited', undefined, id))
      return
    }
    const draft: Draft = { kind, body, ts: now, origin: m.info.id }
    if (m.info.from !== undefined) draft.from = m.info.from
    if (this.messageHook === undefined) this.append(m, draft, id)
    else this.vet(this.messageHook, m, draft, id, data)
  }

  /** Ask the `message` hook about a member's publish; append it only if the hook accepts. */
  private vet(hook: NonNullable<Hooks['message']>, m: Member, draft: Draft, id: string | undefined, data: unknown): void {
    const failed = (err: unknown) => {
      this.onError(err)
      if (m.info.mode === 'json') this.sendTo(m, encodeError('hook_failed', undefined, id))
    }
    let verdict: MessageResult | Promise<MessageResult>
    try {
      verdict = hook(this.messageRequest(draft.kind, data, draft.from))
    } catch (err) {
      return failed(err)
    }
    // Even a synchronous answer is taken in a microtask, so a member's publishes keep their order either way.
    Promise.resolve(verdict).then((v) => {
      if (!isRejection(v)) return this.append(m, draft, id)
      if (m.info.mode === 'json') this.sendTo(m, encodeRejection(v.reject, v.message ?? REJECTED_MESSAGE, id))
    }, failed)
  }

  private messageRequest(kind: EntryKind, data: unknown, from: string | undefined): MessageRequest {
    const req: MessageRequest = { room: this.name, kind, data }
    if (from !== undefined) req.from = from
    return req
  }

  /** Give a member's publish its seq; ack it (json with an id) or report why it could not be published. */
  private append(m: Member, draft: Draft, id: string | undefined): void {
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
    if (countInWindow(m.badFrames, now, BAD_FRAME_WINDOW_MS) > this.config.badFrameBudget) return this.drop(m, 'too_many_errors')
    this.sendTo(m, encodeError(code, message, id))
  }

  // ---- send ----

  /** A member's first frames: its welcome and replay; then its delivery sends what was queued meanwhile and makes it live. */
  private async welcome(m: Member, req: JoinRequest): Promise<void> {
    // Runs synchronously up to the first await, so the join point is taken as the member joins.
    const replay: Replay =
      req.since !== undefined
        ? await this.log.replay(req.since, req.epoch)
        : { ...(await (this.log.joinPoint?.() ?? this.log.head())), entries: [], complete: true }
    if (m.closed) return
    if (m.info.mode === 'json') {
      const resumed = req.since === undefined ? undefined : { since: req.since, complete: replay.complete }
      this.sendTo(m, encodeWelcome(this.name, m.info.id, replay, resumed))
    }
    for (const e of replay.entries) sendEntry(this.name, m, e, this.sender)
    // A send above may have closed it (a slow consumer): then it never goes live.
    if (m.closed) return
    this.delivery.live(m, replay.seq)
    if (m.info.mode === 'json') this.presence.tell(m)
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
    this.delivery.remove(m)
    if (this.members.size === 0) this.emptySince = this.clock.now()
    this.presence.changed()
  }

  /** With native fan-out no send passes sendTo's check, so look at every member's buffer once this turn is over. */
  private checkBuffersSoon(): void {
    if (this.bufferCheck !== undefined) return
    this.bufferCheck = this.clock.setTimeout(() => {
      this.bufferCheck = undefined
      for (const m of this.members) if (this.overBuffered(m)) this.drop(m, 'slow_consumer')
    }, 0)
  }
}

/** Close a connection with the close code and reason an error code names. */
function closeQuietly(conn: Connection, code: ErrorCode, onError: (err: unknown) => void): void {
  try {
    conn.close(Errors[code].close ?? 1000, closeReason(code))
  } catch (err) {
    onError(err)
  }
}
