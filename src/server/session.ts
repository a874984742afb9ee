/**
 * One protocol v2 connection (wire/v2.ts): many room subscriptions over one
 * socket. Each subscription is a member of its Room, like any v1 member, so
 * rooms, seq, history, fan-out (one encoding per broadcast, shared with v1)
 * and Redis work unchanged; every subscription's member holds the one shared
 * socket, and the room tells the session (Member.ended) when it drops one. The session owns what is per connection: frame size, the rate limit
 * (over publishes and subscribes), the bad-frame budget, liveness and expiry.
 *
 * A session opened on a room's own URL (`/rooms/:room`, SessionOptions.scope) serves that room only: the
 * same frames, and `wrong_room` for any other. That is the v2 socket a Durable Object can hold (Cloudflare),
 * which keeps such a session across hibernation from its `snapshot()` (SessionOptions.saved).
 */
import type { Grant } from '../access/credentials.ts'
import { grantsRoom } from '../access/credentials.ts'
import type { Clock } from '../config/clock.ts'
import type { Config } from '../config/config.ts'
import type { Decision } from '../hooks/authorize.ts'
import type { Identity, MemberData } from '../hooks/hooks.ts'
import { Rejected } from '../hooks/hooks.ts'
import { OutcomeUnknown, Unavailable, dedupeKey } from '../log/room-log.ts'
import type { FrameRefusal } from '../ops/metrics.ts'
import type { Ops, Who } from '../ops/ops.ts'
import type { Connection, JoinRequest, MemberInfo } from '../room/connection.ts'
import { newConnectionId } from '../room/connection.ts'
import { expired } from '../room/expiry.ts'
import type { Bucket, Window } from '../room/limits.ts'
import { countInWindow, exceedsBytes, takeToken } from '../room/limits.ts'
import type { Member } from '../room/member.ts'
import { publisherIdentity } from '../room/publisher.ts'
import type { Publisher, Room } from '../room/room.ts'
import { PONG } from '../wire/encode.ts'
import type { ErrorCode } from '../wire/errors.ts'
import { Errors, closeReason } from '../wire/errors.ts'
import { normaliseFrame } from '../wire/payload.ts'
import type { PublishV2Frame, SubscribeFrame } from '../wire/v2.ts'
import { decodeClientFrameV2, encodeAckV2, encodeErrorV2, encodeUnsubscribed, encodeWelcomeV2 } from '../wire/v2.ts'
import type { RoomAccess } from './room-access.ts'
import { refusalCode, roomIdentity } from './room-access.ts'

/** What a session needs of the rooms of its process (a Hub). */
export interface SessionRooms {
  readonly config: Config
  /** The room named `name`, created if needed. */
  room(name: string): Room
  /** Whether `room(name)` stays within MAX_ROOMS. */
  canOpen(name: string): boolean
  /** Sessions open in this process, for sweeps and shutdown. */
  readonly sessions: Set<Session>
  /** The instance's metrics and log: a session's refusals and closes are counted and logged as v1's are. */
  readonly ops: Ops
}

/** What a session is granted: a token's grant, or what the `authorize` hook gave on a room's URL (no expiry). */
export type SessionGrant = Pick<Grant, 'sub' | 'rooms' | 'pub'> & { exp?: number }

/** How a session is opened, beyond its socket and grant. */
export interface SessionOptions {
  /** The application's `authorize` hook, asked per room (room-access.ts); absent: the token alone decides. */
  access?: RoomAccess
  /** The client's address as the runtime reports it, for the log lines about this connection. */
  ip?: string
  /** Opened on `/rooms/<scope>`: it subscribes and publishes to that room only (`wrong_room` for any other). */
  scope?: string
  /** What the `authorize` hook attached, given to its subscription's member (a room's URL only: the hook ran for that room). */
  info?: MemberData
  /** Called whenever `snapshot()` changed (a subscription began or ended): a Durable Object writes it to the socket's attachment. */
  saved?: (state: SessionState) => void
}

/** What a session must keep to be rebuilt after its process went (a Durable Object's hibernation): small and plain. */
export interface SessionState {
  id: string
  grant?: SessionGrant
  client?: string
  scope?: string
  info?: MemberData
  subs: { room: string; id?: string; presence?: true; member: MemberInfo }[]
}

/** One subscription: its room, and its member once the room is ready. */
interface Subscription {
  room: Room
  member: Member | null
  id?: string
  presence?: true
}

const FLOOD_WINDOW_MS = 10_000
const BAD_FRAME_WINDOW_MS = 60_000

function withRoom(frame: Record<string, unknown>, id: string | undefined): Record<string, unknown> {
  if (id !== undefined) frame.id = id
  return frame
}

/** One v2 connection and its subscriptions. */
export class Session {
  readonly id: string
  private readonly subs = new Map<string, Subscription>()
  private readonly config: Config
  private readonly bucket: Bucket
  private readonly rateRefusals: Window
  private readonly badFrames: Window
  private lastSeen: number
  private closed = false
  /** The application's `authorize` hook, asked per room; absent: the token alone decides. */
  private readonly access: RoomAccess | undefined
  private readonly ops: Ops
  private readonly who: Who
  /** This connection as the `message` hook sees a publish of it without `info`: one object, not one per publish. */
  private readonly publisher: Publisher
  /** Subscribes waiting for the `authorize` hook's verdict (with access only): each holds its place, by room. */
  private readonly asking = new Map<string, object>()
  /** The `authorize` hook's verdicts by room, or the question still out (with access only); bounded (remember). */
  private readonly verdicts = new Map<string, Decision | Promise<Decision>>()

  constructor(
    private readonly rooms: SessionRooms,
    private readonly conn: Connection,
    /** What the token grants; undefined where no token is required (any room, publishing allowed). */
    private readonly grant: SessionGrant | undefined,
    private readonly clock: Clock,
    private readonly onError: (err: unknown) => void = (err) => console.error('roomcast:', err),
    /** The upgrade's `?client=` key: without a `sub`, publish ids are deduplicated under it, else under this connection. */
    private readonly client?: string,
    private readonly options: SessionOptions & { id?: string } = {},
  ) {
    this.id = options.id ?? newConnectionId()
    this.publisher = { connectionId: this.id }
    this.config = rooms.config
    this.access = options.access
    this.ops = rooms.ops
    // Who the log lines about this connection name: its welcome's id, address and sub.
    const sub = options.access === undefined ? grant?.sub : options.access.base.sub
    this.who = { id: this.id, mode: 'v2' }
    if (options.ip !== undefined) this.who.ip = options.ip.slice(0, 64)
    if (sub !== undefined) this.who.from = sub
    const now = clock.now()
    this.bucket = { tokens: this.config.rateBurst, at: now }
    this.rateRefusals = { count: 0, start: now }
    this.badFrames = { count: 0, start: now }
    this.lastSeen = now
  }

  /**
   * Rebuild a session from its `snapshot()` on a socket that outlived its process (a Durable Object waking):
   * its subscriptions' members are restored into their rooms as they were, heard from at `lastSeen` at the latest.
   */
  static restore(
    rooms: SessionRooms,
    conn: Connection,
    state: SessionState,
    clock: Clock,
    lastSeen: number,
    onError?: (err: unknown) => void,
    saved?: (state: SessionState) => void,
  ): Session {
    const options: SessionOptions & { id?: string } = { id: state.id }
    if (state.scope !== undefined) options.scope = state.scope
    // The hook's info is kept once, in the subscription's member when there is one (a 2 KiB attachment holds it).
    const info = state.info ?? state.subs[0]?.member.info
    if (info !== undefined) options.info = info
    if (saved !== undefined) options.saved = saved
    const s = new Session(rooms, conn, state.grant, clock, onError, state.client, options)
    s.lastSeen = lastSeen
    rooms.sessions.add(s)
    for (const saved of state.subs) {
      const room = rooms.room(saved.room)
      const sub: Subscription = { room, member: null }
      if (saved.id !== undefined) sub.id = saved.id
      if (saved.presence === true) sub.presence = true
      const name = saved.room
      sub.member = room.restore(conn, saved.member, { lastSeen, ended: (code) => s.ended(name, code), watching: saved.presence === true })
      s.subs.set(name, sub)
    }
    return s
  }

  /** What must outlive this process for the session to be rebuilt (`Session.restore`). */
  snapshot(): SessionState {
    const state: SessionState = { id: this.id, subs: [] }
    if (this.grant !== undefined) state.grant = this.grant
    if (this.client !== undefined) state.client = this.client
    if (this.options.scope !== undefined) state.scope = this.options.scope
    let infoKept = false
    for (const [room, sub] of this.subs) {
      if (sub.member === null) continue
      const entry: SessionState['subs'][number] = { room, member: sub.member.info }
      if (sub.id !== undefined) entry.id = sub.id
      if (sub.presence === true) entry.presence = true
      if (sub.member.info.info !== undefined) infoKept = true
      state.subs.push(entry)
    }
    if (this.options.info !== undefined && !infoKept) state.info = this.options.info
    return state
  }

  /**
   * For a runtime that cannot ping (Cloudflare): close with idle_timeout when nothing was heard for
   * IDLE_TIMEOUT_MS, neither a frame nor a keep-alive the runtime answered (`conn.heardAt`). Returns when
   * it would next be idle (Infinity once closed).
   */
  reapIdle(now: number): number {
    if (this.closed) return Infinity
    const next = this.idleDeadline()
    if (now < next) return next
    this.close('idle_timeout')
    return Infinity
  }

  /** When this session would be idle, as `reapIdle` sees it; closes nothing. */
  idleDeadline(): number {
    if (this.closed) return Infinity
    return Math.max(this.lastSeen, this.conn.heardAt?.() ?? 0) + this.config.idleTimeoutMs + 1
  }

  /** Subscriptions with a room member (ready or being welcomed). */
  get subscriptions(): number {
    return this.subs.size
  }

  /** The socket opened: say hello. */
  open(): void {
    this.rooms.sessions.add(this)
    this.ops.connected(undefined, this.who)
    this.send(encodeWelcomeV2(this.id, this.who.from))
  }

  /** Handle one frame as the runtime handed it over. */
  receive(payload: unknown): void {
    if (this.closed) return
    const data = normaliseFrame(payload)
    if (data === null) return this.close('unsupported_payload')
    const now = this.clock.now()
    this.lastSeen = now
    if (expired(this.grant?.exp, now)) return this.close('token_expired')
    if (exceedsBytes(data, this.config.maxFrameBytes)) return this.close('too_large')
    if (typeof data !== 'string') return this.close('binary_unsupported')
    const d = decodeClientFrameV2(data)
    if (!d.ok) {
      if (countInWindow(this.badFrames, now, BAD_FRAME_WINDOW_MS) > this.config.badFrameBudget) return this.close('too_many_errors')
      this.ops.refusedFrame(d.room, d.code, this.who)
      return this.send(encodeErrorV2(d.code, d.message, d.room, d.id))
    }
    const f = d.frame
    if (f.type === 'ping') return this.send(PONG)
    if (f.type === 'unsubscribe') return this.unsubscribe(f.room, f.id)
    if (!this.takeToken(f.room, f.id, now)) return
    const scope = this.options.scope
    if (scope !== undefined && f.room !== scope)
      return this.refuse(
        'wrong_room',
        `this socket serves room "${scope}" only (it was opened on /rooms/${scope}); use another socket for "${f.room}"`,
        f.room,
        f.id,
      )
    if (f.type === 'subscribe') this.subscribe(f)
    else this.publish(f, d.dataJson as string)
  }

  /** The peer showed it is alive (a pong). */
  touch(): void {
    this.lastSeen = this.clock.now()
  }

  /** Ping where the runtime lets us, close when idle too long or expired. Called by the hub's sweep. */
  sweep(now: number): void {
    if (expired(this.grant?.exp, now)) return this.close('token_expired')
    if (this.conn.ping === undefined) return
    if (now - this.lastSeen > this.config.idleTimeoutMs) {
      this.close('idle_timeout')
      this.conn.terminate?.()
    } else this.conn.ping()
  }

  /** The socket closed (`event`: the runtime's close or error event): leave every room. */
  socketClosed(event?: unknown): void {
    if (this.closed) return
    this.closed = true
    this.leaveAll()
    // The runtime itself may have closed it for one of our reasons (a frame over the size limit): counted as ours.
    const by = this.conn.closedBy?.(event)
    if (by !== undefined) this.ops.closed(undefined, by, this.who)
    else this.ops.disconnected(undefined, this.who)
  }

  /** Close the connection with `code` (and leave every room); `room`: the room that found the reason, if one did. */
  close(code: ErrorCode, message?: string, room?: string): void {
    if (this.closed) return
    this.ops.closed(room, code, this.who)
    this.closeWith(Errors[code].close ?? 1000, closeReason(code, message))
  }

  /**
   * A room dropped (or refused) one subscription's member. A full room or a backend that is down ends
   * that subscription only, with an error frame; anything else (slow consumer, expiry, shutdown) is
   * about the connection, which closes.
   */
  ended(room: string, code: ErrorCode): void {
    if (code === 'room_full' || code === 'backend_down') {
      const sub = this.subs.get(room)
      if (sub === undefined) return
      this.subs.delete(room)
      this.saveState()
      this.refuse(code === 'room_full' ? 'room_full' : 'unavailable', undefined, room, sub.id)
      return
    }
    this.close(code, undefined, room)
  }

  // ---- frames ----

  private subscribe(f: SubscribeFrame): void {
    const name = f.room
    if (this.grant !== undefined && !grantsRoom(this.grant, name)) return this.refuse('forbidden', 'this token does not grant this room', name, f.id)
    if (this.subs.has(name) || this.asking.has(name)) return this.refuse('already_subscribed', undefined, name, f.id)
    if (this.subs.size + this.asking.size >= this.config.maxSubscriptions) {
      return this.refuse(
        'too_many_subscriptions',
        `this connection has ${this.config.maxSubscriptions} subscriptions (MAX_SUBSCRIPTIONS); unsubscribe one first`,
        name,
        f.id,
      )
    }
    const access = this.access
    if (access === undefined) return this.join(f, this.grant === undefined ? {} : { sub: this.grant.sub, canPublish: this.grant.pub })
    // Ask the application with the room; the subscription holds its place meanwhile (and an unsubscribe drops the answer).
    const turn = {}
    this.asking.set(name, turn)
    access.ask(name, 'join').then((d) => {
      if (this.asking.get(name) !== turn) return
      this.asking.delete(name)
      if (this.closed) return
      this.remember(name, d)
      if ('denied' in d) return this.refuseWith(d.denied, name, f.id)
      this.join(f, roomIdentity(access.base, d.identity))
    })
  }

  /** Join the subscription's room as `identity`, once the room is ready. */
  private join(f: SubscribeFrame, identity: Identity): void {
    const name = f.room
    if (!this.rooms.canOpen(name)) return this.refuse('too_many_rooms', undefined, name, f.id)
    const room = this.rooms.room(name)
    if (room.full) return this.refuse('room_full', undefined, name, f.id)
    const sub: Subscription = { room, member: null }
    if (f.id !== undefined) sub.id = f.id
    if (f.presence === true) sub.presence = true
    this.subs.set(name, sub)
    room.ready().then(
      () => {
        if (this.closed || this.subs.get(name) !== sub) return
        // The member writes to the shared socket itself (nothing between it and the socket on the fan-out
        // path); what the room would do to the socket when it drops the member comes here instead.
        const req: JoinRequest = { mode: 'json', v2: { ended: (code) => this.ended(name, code) } }
        if (f.id !== undefined) (req.v2 as { id?: string }).id = f.id
        if (f.presence === true) (req.v2 as { presence?: boolean }).presence = true
        if (f.since !== undefined) req.since = f.since
        if (f.epoch !== undefined) req.epoch = f.epoch
        if (identity.sub !== undefined) req.from = identity.sub
        if (identity.canPublish !== undefined) req.canPublish = identity.canPublish
        // The hook's info for this room: from the per-room verdict, or (a room's URL) from the door's.
        const info = identity.info ?? this.options.info
        if (info !== undefined) req.info = info
        if (this.grant?.exp !== undefined) req.exp = this.grant.exp
        sub.member = room.join(this.conn, req)
        this.saveState()
      },
      (err) => {
        if (!(err instanceof Unavailable)) this.onError(err)
        if (this.closed || this.subs.get(name) !== sub) return
        this.subs.delete(name)
        this.refuse('unavailable', undefined, name, f.id)
      },
    )
  }

  private unsubscribe(name: string, id: string | undefined): void {
    this.asking.delete(name)
    const sub = this.subs.get(name)
    if (sub !== undefined) {
      this.subs.delete(name)
      if (sub.member !== null) sub.room.leave(sub.member)
      this.saveState()
    }
    this.send(encodeUnsubscribed(name, id))
  }

  private publish(f: PublishV2Frame, dataJson: string): void {
    const name = f.room
    if (this.grant !== undefined && !grantsRoom(this.grant, name)) return this.refuse('forbidden', 'this token does not grant this room', name, f.id)
    if (this.access === undefined) {
      if (this.grant !== undefined && !this.grant.pub) return this.refuse('forbidden', 'this token may not publish', name, f.id)
      return this.append(f, dataJson, this.grant?.sub)
    }
    // The room's verdict, kept from its subscribe or an earlier publish; else the hook is asked once, and
    // publishes sent meanwhile wait for that one answer, in order.
    let v = this.verdicts.get(name)
    if (v === undefined) {
      const asked = this.access.ask(name, 'publish')
      v = asked
      this.verdicts.set(name, asked)
      asked.then((d) => {
        if (this.verdicts.get(name) !== asked) return
        this.verdicts.delete(name)
        this.remember(name, d)
      })
    }
    if (v instanceof Promise) v.then((d) => this.publishAs(f, dataJson, d))
    else this.publishAs(f, dataJson, v)
  }

  /** A publish with its room's verdict. */
  private publishAs(f: PublishV2Frame, dataJson: string, d: Decision): void {
    if (this.closed) return
    if ('denied' in d) return this.refuseWith(d.denied, f.room, f.id)
    const identity = roomIdentity((this.access as RoomAccess).base, d.identity)
    if (identity.canPublish === false) return this.refuse('forbidden', 'this identity may not publish', f.room, f.id)
    this.append(f, dataJson, identity.sub, identity.info)
  }

  /** Keep a room's verdict for the connection's life; a hook that failed or timed out is asked again next time. */
  private remember(name: string, d: Decision): void {
    if ('denied' in d && d.denied.hook) return
    this.verdicts.delete(name)
    // Bounded: past twice MAX_SUBSCRIPTIONS rooms, the oldest verdict of a room not subscribed goes (asked again if needed).
    if (this.verdicts.size >= 2 * this.config.maxSubscriptions) {
      for (const room of this.verdicts.keys()) {
        if (!this.subs.has(room) && !(this.verdicts.get(room) instanceof Promise)) {
          this.verdicts.delete(room)
          break
        }
      }
    }
    this.verdicts.set(name, d)
  }

  /** Give a publish its seq in `f.room`, as `from` (with the `info` the `authorize` hook gave, for the message hook). */
  private append(f: PublishV2Frame, dataJson: string, from: string | undefined, info?: MemberData): void {
    const name = f.room
    const sub = this.subs.get(name)
    if (sub === undefined && !this.rooms.canOpen(name)) return this.refuse('too_many_rooms', undefined, name, f.id)
    const room = sub?.room ?? this.rooms.room(name)
    // The publisher's own subscription, if any, is the entry's origin: it gets no echo.
    const origin = sub?.member?.info.id
    const [kind, body] = typeof f.data === 'string' ? (['text', f.data] as const) : (['json', dataJson] as const)
    const id = f.id
    // With an id, once per publisher and id (its `sub`, else its client key, else this connection); without one, nothing is looked up.
    // The message hook sees this connection and its info; its verdicts are applied in the order they were sent.
    const by: Publisher = info === undefined ? this.publisher : { connectionId: this.id, info }
    const appended =
      id === undefined
        ? room.publish(kind, body, from, origin, true, 'ws', by).then((seq) => ({ seq, duplicate: false }))
        : room.publishOnce(kind, body, { key: dedupeKey(publisherIdentity(from, this.client, this.id), id), hash: '' }, from, origin, true, 'ws', by)
    appended.then(
      (a) => {
        if (id !== undefined) this.send(encodeAckV2(id, name, a.seq, a.duplicate))
      },
      (err) => {
        // The application's `message` hook refused it: its own code, with the room.
        if (err instanceof Rejected) return this.send(JSON.stringify(withRoom({ type: 'error', code: err.code, message: err.message, room: name }, id)))
        if (err instanceof OutcomeUnknown) return this.refuse('outcome_unknown', undefined, name, id)
        if (!(err instanceof Unavailable)) this.onError(err)
        this.refuse('unavailable', undefined, name, id)
      },
    )
  }

  /** Take a token for a publish or subscribe; refuse (or close, when flooding) without one. */
  private takeToken(room: string, id: string | undefined, now: number): boolean {
    if (takeToken(this.bucket, now, this.config.rateLimit, this.config.rateBurst)) return true
    if (countInWindow(this.rateRefusals, now, FLOOD_WINDOW_MS) > this.config.floodStrikes) this.close('flooding')
    else this.refuse('rate_limited', undefined, room, id)
    return false
  }

  /** Tell the owner (a Durable Object) what to keep, where it asked to be told. */
  private saveState(): void {
    if (this.options.saved !== undefined && !this.closed) this.options.saved(this.snapshot())
  }

  // ---- send ----

  /** Refuse one frame with an `error` frame naming its room: counted and logged as a refused frame. */
  private refuse(code: FrameRefusal, message: string | undefined, room: string, id: string | undefined): void {
    this.ops.refusedFrame(room, code, this.who)
    this.send(encodeErrorV2(code, message, room, id))
  }

  /**
   * Refuse a frame as the `authorize` hook did, with its code where that is a valid one (room-access.ts's
   * refusalCode). The application's own codes are counted and logged as `forbidden`, with theirs as the reason.
   */
  private refuseWith(denied: { code: string; message: string; hook: boolean }, room: string, id: string | undefined): void {
    const code = refusalCode(denied)
    const counted: FrameRefusal = code === 'hook_failed' || code === 'hook_timeout' ? code : 'forbidden'
    this.ops.refusedFrame(room, counted, this.who, code === counted ? undefined : code)
    this.send(JSON.stringify(withRoom({ type: 'error', code, message: denied.message, room }, id)))
  }

  private send(data: string): void {
    if (this.closed) return
    try {
      this.conn.send(data)
    } catch (err) {
      this.onError(err)
      return this.close('internal')
    }
    const buffered = this.conn.bufferedAmount
    if (buffered !== undefined && buffered.call(this.conn) > this.config.maxBufferedBytes) this.close('slow_consumer')
  }

  private closeWith(code: number, reason: string): void {
    if (this.closed) return
    this.closed = true
    this.leaveAll()
    try {
      this.conn.close(code, reason)
    } catch (err) {
      this.onError(err)
    }
  }

  private leaveAll(): void {
    this.rooms.sessions.delete(this)
    this.asking.clear()
    for (const sub of this.subs.values()) if (sub.member !== null) sub.room.leave(sub.member)
    this.subs.clear()
  }
}
