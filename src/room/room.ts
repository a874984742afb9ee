/**
 * One room: its membership, what it receives from a member, and what it
 * sends. Sequence numbers and history come from its log (log/), live entries
 * reach members through its delivery (delivery.ts, topics.ts), and presence
 * and credential expiry have helpers of their own (presence.ts, expiry.ts).
 */
import type { Clock } from '../config/clock.ts'
import { realClock } from '../config/clock.ts'
import type { Config } from '../config/config.ts'
import type { Hooks, MemberData, MemberEvent, MessageRequest } from '../hooks/hooks.ts'
import { Rejected, encodeRejection } from '../hooks/hooks.ts'
import { notify } from '../hooks/limit.ts'
import type { Verdict } from '../hooks/message.ts'
import { vetMessage } from '../hooks/message.ts'
import type { Draft, EntryKind } from '../log/entry.ts'
import type { Appended, LogFactory, Once, Replay, RoomLog } from '../log/room-log.ts'
import { OutcomeUnknown, Unavailable, dedupeKey } from '../log/room-log.ts'
import { errorFields } from '../ops/logger.ts'
import type { PublishSource } from '../ops/metrics.ts'
import { Ops } from '../ops/ops.ts'
import type { MemberSummary } from '../wire/admin.ts'
import { utf8Length } from '../wire/bytes.ts'
import { decodeClientFrame } from '../wire/decode.ts'
import { PONG, encodeAck, encodeError, encodeWelcome } from '../wire/encode.ts'
import type { ErrorCode } from '../wire/errors.ts'
import { Errors, closeReason } from '../wire/errors.ts'
import { normaliseFrame } from '../wire/payload.ts'
import { encodeSubscribed } from '../wire/v2.ts'
import type { Connection, JoinRequest, MemberInfo } from './connection.ts'
import { newConnectionId } from './connection.ts'
import type { Delivery, SendTo } from './delivery.ts'
import { MemberLoop, sendEntry } from './delivery.ts'
import { ExpiryTimer, expired } from './expiry.ts'
import { countInWindow, exceedsBytes, takeToken } from './limits.ts'
import { Member } from './member.ts'
import { Presence } from './presence.ts'
import { memberIdentity } from './publisher.ts'
import type { RosterPage, RosterStore } from './roster.ts'
import { Roster } from './roster.ts'
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
  /** The instance's metrics and log; default: counted, and only errors logged. */
  ops?: Ops
  /**
   * Schedule a call to `Room.expire()` at `at` (Unix ms), replacing any earlier schedule.
   * Default: a clock timer. Cloudflare sets a storage alarm instead, because a pending
   * setTimeout keeps a Durable Object from hibernating.
   */
  scheduleExpiry?: (at: number) => void
  /** The application's hooks; the room runs `message` before it gives a publish a seq. */
  hooks?: Hooks
  /**
   * Schedule a call to `Room.presenceTick()` at `at` (Unix ms), replacing any earlier schedule: the v2
   * roster's coalesced diffs and grace ends. Default: a clock timer. Cloudflare: the storage alarm.
   */
  schedulePresence?: (at: number) => void
  /** Where the v2 roster keeps what must outlive the process (roster.ts); default: memory only. */
  presenceStore?: RosterStore
}

/** How a restored member was attached (a Durable Object's socket, from its attachment). */
export interface Restored {
  /** When it was last heard from, at the latest (default: now). */
  lastSeen?: number
  /** A v2 subscription: what the room calls instead of closing the shared socket (Member.ended). */
  ended?: (code: ErrorCode) => void
  /** A v2 subscription that asked for presence: it keeps hearing the roster's diffs. */
  watching?: boolean
}

/** A protocol v2 connection publishing from outside the room: its id and `info` go to the `message` hook, whose verdicts on it are applied in order. */
export interface Publisher {
  connectionId: string
  info?: MemberData
}

/** Which members an operator's disconnect closes: those matching every field given; none given, everyone. */
export interface MemberFilter {
  sub?: string
  connectionId?: string
}

/** `GET /rooms/:room` */
export interface RoomStats {
  room: string
  connections: number
  seq: number
}

/** What a room has carried on this instance since it opened: one count per broadcast, never per recipient. */
export interface Traffic {
  /** Entries handed to this instance's members. */
  messages: number
  /** Sends those entries made: the members present at each broadcast (a json publisher's ack included). */
  deliveries: number
}

const FLOOD_WINDOW_MS = 10_000
const BAD_FRAME_WINDOW_MS = 60_000

/** One room of one process (or the whole room, in a Durable Object). */
export class Room {
  private readonly members = new Set<Member>()
  /** The last `message` verdict each connection publishing from outside (v2) waits on, while one is out (inOrder). */
  private readonly hookTails = new Map<string, Promise<Verdict>>()
  private readonly log: RoomLog
  private readonly config: Config
  private readonly clock: Clock
  private readonly onError: (err: unknown) => void
  private readonly ops: Ops
  /** `sendTo` as one function per room (not per recipient), for the helpers that send. */
  private readonly sender: SendTo = (m, data) => this.sendTo(m, data)
  private readonly delivery: Delivery
  private readonly presence: Presence
  /** Who is here by identity, for v2 subscriptions that asked for presence (roster.ts). */
  private readonly roster: Roster
  private readonly expiry: ExpiryTimer
  private readonly messageHook: Hooks['message']
  private readonly joinedHook: Hooks['joined']
  private readonly leftHook: Hooks['left']
  /** Pending once-a-turn buffer check, where the delivery's sends bypass sendTo (a runtime's topics). */
  private bufferCheck: unknown = undefined
  /** When the room last became empty (for the hub's cleanup). */
  emptySince: number
  /** Counted once per broadcast, for the admin API's rates and a Durable Object's cost. */
  readonly traffic: Traffic = { messages: 0, deliveries: 0 }

  constructor(
    readonly name: string,
    options: RoomOptions,
  ) {
    this.config = options.config
    this.clock = options.clock ?? realClock
    this.ops = options.ops ?? Ops.quiet()
    this.onError = options.onError ?? ((err) => this.ops.log.error('unexpected error', { room: name, ...errorFields(err) }))
    this.messageHook = options.hooks?.message
    this.joinedHook = options.hooks?.joined
    this.leftHook = options.hooks?.left
    const metrics = this.ops.metrics
    this.delivery =
      options.fanout === undefined
        ? new MemberLoop(name, this.members, this.sender, metrics)
        : new TopicDelivery(options.fanout, name, this.sender, () => this.checkBuffersSoon(), metrics)
    this.expiry = new ExpiryTimer(this.clock, this.expire, options.scheduleExpiry)
    this.presence = new Presence(name, this.clock, this.config.presenceIntervalMs, this.members, () => this.log.members(this.members.size), this.sender)
    const count = () => this.log.members(this.members.size)
    this.roster = new Roster({
      room: name,
      clock: this.clock,
      intervalMs: this.config.presenceIntervalMs,
      graceMs: this.config.presenceGraceMs,
      maxMembers: this.config.presenceMaxMembers,
      count: () => (this.log === undefined ? 0 : count()),
      send: this.sender,
      schedule: options.schedulePresence,
      store: options.presenceStore,
    })
    this.log = options.logs(name, {
      deliver: (entry) => {
        // One timing per broadcast; the delivery counts its recipients once, too.
        const t0 = metrics.now()
        this.traffic.messages++
        this.traffic.deliveries += this.members.size
        this.delivery.deliver(entry)
        metrics.fanoutSeconds.observe((metrics.now() - t0) / 1000)
      },
      membersChanged: () => {
        this.presence.changed()
        this.roster.changed()
      },
      rosterChanged: (subs) => this.roster.remoteChanged(subs),
      lost: () => this.closeAll('resync'),
    })
    if (this.log.roster !== undefined) this.roster.attach(this.log.roster)
    this.emptySince = this.clock.now()
  }

  // ---- membership ----

  /** Members on this instance. */
  get size(): number {
    return this.members.size
  }

  /** Add this room's v1 members to `counts`, by mode (for the connections gauge, read when scraped); a v2 connection is counted once, by its hub. */
  countModes(counts: { raw: number; json: number }): void {
    for (const m of this.members) if (m.info.v2 === undefined) counts[m.info.mode]++
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
      // A v2 subscription refused is not a close: its session counts (and logs) the refusal.
      if (req.v2?.ended !== undefined) req.v2.ended('room_full')
      else {
        this.ops.closed(this.name, 'room_full', req)
        closeQuietly(conn, 'room_full', this.onError)
      }
      return null
    }
    const now = this.clock.now()
    const info: MemberInfo = { id: newConnectionId(), mode: req.mode, canPublish: req.canPublish ?? true, joinedAt: now }
    if (req.from !== undefined) info.from = req.from
    if (req.exp !== undefined) info.exp = req.exp
    if (req.client !== undefined) info.client = req.client
    if (req.info !== undefined) info.info = req.info
    if (req.v2 !== undefined) info.v2 = true
    if (req.ip !== undefined) info.ip = req.ip.slice(0, 64)
    this.ops.connected(this.name, info)
    const m = new Member(conn, info, now, this.config.rateBurst)
    if (req.v2?.ended !== undefined) m.ended = req.v2.ended
    this.members.add(m)
    this.delivery.joining(m)
    this.expiry.watch(info.exp)
    this.presence.changed()
    if (this.joinedHook !== undefined) notify('joined', this.joinedHook, this.memberEvent(m), this.config.hookTimeoutMs, this.onError)
    this.roster.enter(m)
    this.welcome(m, req).catch((err) => {
      if (err instanceof Unavailable) return this.drop(m, 'backend_down')
      this.onError(err)
      this.drop(m, 'internal')
    })
    return m
  }

  /** Re-admit a member whose info survived elsewhere (a Durable Object waking from hibernation); call `restored()` after the last. */
  restore(conn: Connection, info: MemberInfo, how: Restored = {}): Member {
    const m = new Member(conn, info, this.clock.now(), this.config.rateBurst)
    if (how.lastSeen !== undefined) m.lastSeen = how.lastSeen
    if (how.ended !== undefined) m.ended = how.ended
    this.members.add(m)
    this.delivery.live(m, 0)
    this.expiry.watch(info.exp)
    this.presence.known(this.log.members(this.members.size))
    this.roster.enter(m, true)
    if (how.watching === true) this.roster.rewatch(m)
    return m
  }

  /** Every surviving member is restored: the roster looks at what it had not announced, when that is due. */
  restored(): void {
    this.roster.settle()
  }

  /** The roster's scheduled tick is due (where `schedulePresence` is given). */
  presenceTick(): void {
    this.roster.tick()
  }

  /** The member's socket closed; `closedBy` when the runtime closed it for one of the Errors table's reasons. */
  leave(m: Member, closedBy?: ErrorCode): void {
    if (m.closed) return
    m.closed = true
    if (closedBy === undefined) this.ops.disconnected(this.name, m.info)
    else this.ops.closed(this.name, closedBy, m.info)
    this.remove(m, 'closed')
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
      // A v2 subscription's socket is its session's to ping and to find idle.
      if (m.conn.ping === undefined || m.ended !== undefined) continue
      if (now - m.lastSeen > this.config.idleTimeoutMs) {
        this.drop(m, 'idle_timeout')
        // A peer that answers no ping will not answer the close frame either: free its socket now rather
        // than when the runtime gives up on the close handshake (ws: 30 s).
        m.conn.terminate?.()
      } else m.conn.ping()
    }
  }

  /**
   * For a runtime that cannot ping (Cloudflare): close the json members not heard from for IDLE_TIMEOUT_MS,
   * by a frame or by the runtime's record of a keep-alive it answered (`conn.heardAt`). Raw members are left
   * alone (a raw client has no keep-alive frame to send), and v2 subscriptions are their session's. Returns
   * when the next one would be idle (Infinity: no member to watch).
   */
  reapIdle(now: number = this.clock.now()): number {
    return this.idleScan(now, true)
  }

  /** When the first json member would be idle, as `reapIdle` sees it (Infinity: none to watch); closes no one. */
  idleDeadline(): number {
    return this.idleScan(this.clock.now(), false)
  }

  private idleScan(now: number, close: boolean): number {
    const idle = this.config.idleTimeoutMs
    let next = Infinity
    for (const m of this.members) {
      if (m.info.mode !== 'json' || m.ended !== undefined) continue
      const last = Math.max(m.lastSeen, m.conn.heardAt?.() ?? 0)
      if (close && now - last > idle) this.drop(m, 'idle_timeout')
      else next = Math.min(next, last + idle + 1)
    }
    return next
  }

  /** Close every member with `code` (shutdown). */
  closeAll(code: ErrorCode = 'shutting_down'): void {
    for (const m of this.members) this.drop(m, code)
  }

  /** Release the room's log and timers; the room must be empty. */
  dispose(): void {
    this.presence.dispose()
    this.roster.dispose()
    this.expiry.dispose()
    if (this.bufferCheck !== undefined) this.clock.clearTimeout(this.bufferCheck)
    this.log.close()
  }

  /** Close the members `filter` matches with `code` (an operator's disconnect); returns how many were closed. */
  disconnect(filter: MemberFilter, code: ErrorCode = 'kicked'): number {
    let n = 0
    for (const m of this.members) {
      if (filter.sub !== undefined && m.info.from !== filter.sub) continue
      if (filter.connectionId !== undefined && m.info.id !== filter.connectionId) continue
      this.drop(m, code)
      n++
    }
    return n
  }

  /** Counts and position, for `GET /rooms/:room`. */
  async stats(): Promise<RoomStats> {
    const head = await this.log.head()
    return { room: this.name, connections: this.log.members(this.members.size), seq: head.seq }
  }

  // ---- admin ----

  /** This instance's members, at most `limit` of them, for the admin API. */
  memberList(limit: number = Infinity): MemberSummary[] {
    const out: MemberSummary[] = []
    for (const m of this.members) {
      if (out.length >= limit) break
      const s: MemberSummary = { connectionId: m.info.id, mode: m.info.mode, since: m.info.joinedAt ?? m.joinedHere }
      if (m.info.from !== undefined) s.sub = m.info.from
      if (m.conn.bufferedAmount !== undefined) s.bufferedBytes = m.conn.bufferedAmount()
      out.push(s)
    }
    return out
  }

  /** Bytes of message bodies the room's history holds, where the log can say at once. */
  historyBytes(): number | undefined {
    return this.log.historyBytes?.()
  }

  /** Drop the room's history (seq and epoch stay): resumes from before now report `complete:false`. */
  clearHistory(): Promise<void> {
    return this.log.clear?.() ?? Promise.resolve()
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
    this.ops.metrics.bytesReceived.value += typeof data === 'string' ? utf8Length(data) : data.byteLength
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

  /** The roster as of the last presence tick, a page at a time (`GET /rooms/:room/presence`). */
  presencePage(limit: number, cursor?: string): RosterPage {
    return this.roster.page(limit, cursor)
  }

  /**
   * Publish from outside the room: HTTP, the application's own `rc.publish` (which passes `vet: false`), or a
   * v2 connection (whose subscription to this room, `origin`, gets no echo). Rejects with Unavailable (not
   * published), OutcomeUnknown (asked, not confirmed), or Rejected when the `message` hook refused it, failed
   * or took too long. `source` labels it in roomcast_messages_published_total.
   */
  async publish(
    kind: EntryKind,
    body: string | Uint8Array,
    from?: string,
    origin?: string,
    vet = true,
    source: PublishSource = origin === undefined ? 'http' : 'ws',
    by?: Publisher,
  ): Promise<number> {
    return this.ops.published(source, this.log.append(await this.draftFrom(kind, body, from, origin, vet, by)))
  }

  /**
   * As `publish`, with a publish key (an HTTP Idempotency-Key, a v2 publish id): not published again if the key
   * was published within the dedupe window; the answer then carries the first one's seq (and is not counted).
   */
  async publishOnce(
    kind: EntryKind,
    body: string | Uint8Array,
    once: Once,
    from?: string,
    origin?: string,
    vet = true,
    source: PublishSource = origin === undefined ? 'http' : 'ws',
    by?: Publisher,
  ): Promise<Appended> {
    const draft = await this.draftFrom(kind, body, from, origin, vet, by)
    const t0 = this.ops.metrics.now()
    const appended = this.log.appendOnce(draft, once)
    appended.then(
      (a) => {
        if (!a.duplicate) this.ops.appended(source, t0)
      },
      () => {},
    )
    return appended
  }

  /** The draft of a publish from outside the room, past the `message` hook unless `vet` is false. */
  private async draftFrom(
    kind: EntryKind,
    body: string | Uint8Array,
    from: string | undefined,
    origin: string | undefined,
    vet: boolean,
    by: Publisher | undefined,
  ): Promise<Draft> {
    const draft: Draft = { kind, body, ts: this.clock.now() }
    if (origin !== undefined) draft.origin = origin
    if (from !== undefined) draft.from = from
    if (vet && this.messageHook !== undefined) {
      const data = kind === 'json' ? JSON.parse(body as string) : body
      const req: MessageRequest = { room: this.name, kind, data }
      if (from !== undefined) req.from = from
      if (by !== undefined) {
        req.connectionId = by.connectionId
        if (by.info !== undefined) req.info = by.info
      }
      const asked = vetMessage(this.messageHook, req, body, this.config.hookTimeoutMs, this.config.maxFrameBytes)
      const v = by === undefined ? await asked : await this.inOrder(by.connectionId, asked)
      if (!v.ok) {
        if (v.error !== undefined) this.onError(v.error)
        throw new Rejected(v.code, v.message, v.status)
      }
      draft.kind = v.kind
      draft.body = v.body
    }
    return draft
  }

  /**
   * A connection's verdicts, applied in the order it sent its publishes (as a member's are, by its hookTail):
   * the hooks run side by side, but a slow answer never lets a later publish of the same connection overtake.
   */
  private async inOrder(key: string, verdict: Verdict | Promise<Verdict>): Promise<Verdict> {
    const before = this.hookTails.get(key)
    if (before === undefined && !(verdict instanceof Promise)) return verdict
    const mine = (before ?? Promise.resolve()).then(() => verdict)
    this.hookTails.set(key, mine)
    const v = await mine
    if (this.hookTails.get(key) === mine) this.hookTails.delete(key)
    return v
  }

  /** `data` is the published value as the `message` hook sees it (the parsed JSON, the text or the bytes). */
  private publishFrom(m: Member, kind: EntryKind, body: string | Uint8Array, id: string | undefined, now: number, data: unknown): void {
    const json = m.info.mode === 'json'
    if (!m.info.canPublish) {
      this.ops.refusedFrame(this.name, 'forbidden', m.info)
      if (json) this.sendTo(m, encodeError('forbidden', undefined, id))
      return
    }
    if (!takeToken(m.bucket, now, this.config.rateLimit, this.config.rateBurst)) {
      if (countInWindow(m.rateRefusals, now, FLOOD_WINDOW_MS) > this.config.floodStrikes) return this.drop(m, 'flooding')
      this.ops.refusedFrame(this.name, 'rate_limited', m.info)
      if (json) this.sendTo(m, encodeError('rate_limited', undefined, id))
      return
    }
    const draft: Draft = { kind, body, ts: now, origin: m.info.id }
    if (m.info.from !== undefined) draft.from = m.info.from
    if (this.messageHook === undefined) this.append(m, draft, id)
    else this.vet(this.messageHook, m, draft, id, data)
  }

  /**
   * Ask the `message` hook about a member's publish; append it (or its replacement) only if the hook accepts.
   * Hooks of one member's publishes run side by side, but their verdicts are applied in the order the member
   * sent them (its `hookTail`), so a slow answer never lets a later publish overtake an earlier one.
   */
  private vet(hook: NonNullable<Hooks['message']>, m: Member, draft: Draft, id: string | undefined, data: unknown): void {
    const req: MessageRequest = { room: this.name, kind: draft.kind, data, connectionId: m.info.id }
    if (draft.from !== undefined) req.from = draft.from
    if (m.info.info !== undefined) req.info = m.info.info
    const verdict = vetMessage(hook, req, draft.body, this.config.hookTimeoutMs, this.config.maxFrameBytes)
    if (!(verdict instanceof Promise) && m.hookTail === undefined) return this.decided(m, draft, id, verdict)
    const tail: Promise<void> = (m.hookTail ?? Promise.resolve())
      .then(() => verdict)
      .then((v) => {
        if (m.hookTail === tail) m.hookTail = undefined
        this.decided(m, draft, id, v)
      })
    m.hookTail = tail
  }

  /** Apply the hook's verdict on one member publish: append, or tell the publisher (json mode) why not. */
  private decided(m: Member, draft: Draft, id: string | undefined, v: Verdict): void {
    if (v.ok) {
      draft.kind = v.kind
      draft.body = v.body
      return this.append(m, draft, id)
    }
    if (v.error !== undefined) this.onError(v.error)
    if (m.info.mode !== 'json') return
    this.sendTo(m, v.error !== undefined ? encodeError(v.code as ErrorCode, undefined, id) : encodeRejection(v.code, v.message, id))
  }

  /** The member as `joined` and `left` see it. */
  private memberEvent(m: Member): MemberEvent {
    const e: MemberEvent = { room: this.name, connectionId: m.info.id, mode: m.info.mode }
    if (m.info.from !== undefined) e.sub = m.info.from
    if (m.info.info !== undefined) e.info = m.info.info
    return e
  }

  /** Give a member's publish its seq (once per publisher and id), or report why it could not be published. */
  private append(m: Member, draft: Draft, id: string | undefined): void {
    // A new entry's ack goes out with its delivery (delivery.ts), in seq order; here only a refusal is answered.
    // Counted in the handlers the publish has anyway: a promise of its own per publish measured ~0.5 µs.
    const t0 = this.ops.metrics.now()
    if (id === undefined) {
      // No id, no dedupe: nothing is looked up.
      this.log.append(draft).then(
        () => this.ops.appended('ws', t0),
        (err) => this.refused(m, err, undefined),
      )
      return
    }
    draft.id = id
    // Once per publish, never per recipient: a repeat is acked here with the first seq and reaches no one.
    this.log.appendOnce(draft, { key: dedupeKey(memberIdentity(m.info), id), hash: '' }).then(
      (a) => {
        if (a.duplicate) this.sendTo(m, encodeAck(id, a.seq, true))
        else this.ops.appended('ws', t0)
      },
      (err) => this.refused(m, err, id),
    )
  }

  /** A publish the log refused: `unavailable` (certainly not published) or `outcome_unknown` (asked, not confirmed). */
  private refused(m: Member, err: unknown, id: string | undefined): void {
    const unknown = err instanceof OutcomeUnknown
    if (!unknown && !(err instanceof Unavailable)) this.onError(err)
    this.ops.refusedFrame(this.name, unknown ? 'outcome_unknown' : 'unavailable', m.info)
    if (m.info.mode === 'json') this.sendTo(m, encodeError(unknown ? 'outcome_unknown' : 'unavailable', undefined, id))
  }

  private badFrame(m: Member, code: 'bad_json' | 'bad_frame', message: string, id: string | undefined, now: number): void {
    if (countInWindow(m.badFrames, now, BAD_FRAME_WINDOW_MS) > this.config.badFrameBudget) return this.drop(m, 'too_many_errors')
    this.ops.refusedFrame(this.name, code, m.info)
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
      if (req.v2 !== undefined) this.sendTo(m, encodeSubscribed(this.name, replay, req.v2.id, resumed))
      else this.sendTo(m, encodeWelcome(this.name, m.info.id, replay, resumed))
    }
    for (const e of replay.entries) sendEntry(this.name, m, e, this.sender)
    // A send above may have closed it (a slow consumer): then it never goes live.
    if (m.closed) return
    this.delivery.live(m, replay.seq)
    // A v2 subscription hears identity presence when it asked for it, never v1's count-only frames.
    if (req.v2 !== undefined) {
      if (req.v2.presence === true && !m.closed) this.roster.watch(m)
    } else if (m.info.mode === 'json') this.presence.tell(m)
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
    // A v2 subscription's session counts what this means for it: one refusal, or one close of the connection.
    if (m.ended === undefined) this.ops.closed(this.name, code, m.info)
    this.remove(m, code)
    if (m.ended !== undefined) m.ended(code)
    else closeQuietly(m.conn, code, this.onError)
  }

  private remove(m: Member, reason: string): void {
    this.members.delete(m)
    this.delivery.remove(m)
    if (this.members.size === 0) this.emptySince = this.clock.now()
    this.presence.changed()
    if (this.leftHook !== undefined) notify('left', this.leftHook, { ...this.memberEvent(m), reason }, this.config.hookTimeoutMs, this.onError)
    this.roster.exit(m)
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
