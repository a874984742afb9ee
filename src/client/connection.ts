/**
 * The protocol v2 client: one `RoomcastConnection`, many room subscriptions
 * (`subscribe(room, {since?, presence?})`), each with its own `message`,
 * `presence` and `missed` events, `publish` and `unsubscribe`. After a
 * reconnect every subscription resumes from its own seq and epoch. Where the
 * server cannot hold several rooms on one socket (Cloudflare answers a v2 door
 * check on `/` with 400), each subscription gets a v2 socket of its own on its
 * room's URL (`/rooms/:room`), with presence by identity; only where that is
 * refused too (an older server), a v1 `RoomcastClient` per room (counts only).
 * The v1 single-room `RoomcastClient` is unchanged.
 */

import type { ErrorCode } from '../wire/errors.ts'
import type { MessageFrame } from '../wire/frames.ts'
import { SUBPROTOCOL_V2, isRoomName } from '../wire/names.ts'
import { backoffDelay } from './backoff.ts'
import type { ClientErrorCode } from './error.ts'
import { RoomcastError } from './error.ts'
import type { Listener } from './listeners.ts'
import { Listeners } from './listeners.ts'
import { Outbox } from './outbox.ts'
import { closeRetry } from './retry.ts'
import type { ConnectionState, Missed } from './room-client.ts'
import { RoomClient, randomKey } from './room-client.ts'
import { SeqTracker } from './seq-tracker.ts'

/** What `new RoomcastConnection` takes. */
export interface ConnectionOptions {
  /** The server: `ws(s)://host[:port][/prefix/]` (`http(s)://` works too). */
  url: string
  /** A credential, sent as a second subprotocol entry; a function is asked again on each connect. */
  token?: string | (() => string | Promise<string>)
  /**
   * `auto` (default): v2 on one socket; where the server refuses that, one v2 socket per room on the room's URL
   * (`room-v2`); where that is refused too, one v1 socket per room (`per-room`, counts only). Or force one.
   */
  transport?: 'auto' | Transport
  /** A publish with no `ack` in this long rejects with `timeout` (default 120 s, the server's default dedupe window). */
  ackTimeoutMs?: number
  /** The server's DEDUPE_WINDOW_MS (default 120 s): a publish whose answer was lost is resent under its id while younger than this. */
  dedupeWindowMs?: number
  /** Publishes kept while not connected (default 100). */
  maxQueue?: number
  /** This connection's key, sent as `?client=` on every connect (default: a random one); see RoomcastClient's. */
  clientKey?: string
  /** Bound of the first reconnect delay (default 500 ms) and the longest (default 10 s). */
  initialDelayMs?: number
  maxDelayMs?: number
  /** Send a ping this often; silent for two intervals, the socket is dropped and reconnected (default 25 s; 0: never). */
  pingIntervalMs?: number
  /** The WebSocket constructor (default `globalThis.WebSocket`). */
  WebSocket?: typeof WebSocket
  /** The fetch for the v2 door check (default `globalThis.fetch`; none: v2 is assumed). */
  fetch?: typeof fetch
}

/** How a connection reaches its rooms: one v2 socket, a v2 socket per room on its URL, or a v1 socket per room. */
export type Transport = 'v2' | 'room-v2' | 'per-room'

/** @internal What a per-room v2 socket's inner connection is given beyond the options: the room's path under the base URL. */
interface Inner {
  path: string
}

/** What `subscribe` takes. */
export interface SubscribeOptions {
  /** Ask for the history after this seq on the first subscribe (0: all the room holds). */
  since?: number
  /** Receive who is here (`presence` events with members); v1 transport: counts only. */
  presence?: boolean
}

/** A room's presence as a subscription knows it. */
export interface PresenceState {
  room: string
  /** Connections in the room, anonymous ones included. */
  connections: number
  /** Who is here by identity, with their connection counts (absent on the per-room transport, which has counts only). */
  members?: Map<string, number>
  /** The server lists only part of the roster (PRESENCE_MAX_MEMBERS); page it with `GET /rooms/:room/presence`. */
  truncated?: boolean
}

/** A subscription's events. */
export interface SubscriptionEvents {
  message: MessageFrame
  presence: PresenceState
  missed: Missed
  /** The subscription is (again) live: its seq and epoch. */
  subscribed: { room: string; seq: number; epoch: string }
  /** The server refused the subscription (forbidden, too_many_subscriptions, ...) or a frame of it. */
  error: RoomcastError
}

/** One room subscription of a connection. */
export class Subscription {
  private readonly listeners = new Listeners<SubscriptionEvents>()
  /** @internal */ readonly tracker = new SeqTracker()
  /** @internal */ epoch: string | undefined
  /** @internal */ firstSince: number | undefined
  /** @internal */ v1: RoomClient | undefined
  /** @internal The room's own v2 connection (transport `room-v2`), and its one subscription. */
  inner: { conn: RoomcastConnection; sub: Subscription } | undefined
  private roster: PresenceState | undefined
  ended = false

  constructor(
    readonly room: string,
    readonly options: SubscribeOptions,
    private readonly owner: RoomcastConnection,
  ) {
    if (options.since !== undefined) {
      this.firstSince = options.since
      this.tracker.reset(options.since)
    }
  }

  /** The room's presence as last heard. */
  get presence(): PresenceState | undefined {
    return this.inner?.sub.presence ?? this.roster
  }

  /** The last seq up to which nothing is missing. */
  get lastSeq(): number {
    return this.inner?.sub.lastSeq ?? this.tracker.floor
  }

  /** Listen to an event; returns a function that stops listening. */
  on<K extends keyof SubscriptionEvents>(type: K, fn: Listener<SubscriptionEvents[K]>): () => void {
    return this.listeners.on(type, fn)
  }

  /** Publish `data` to this room; resolves with its seq once acked. */
  publish(data: unknown): Promise<number> {
    if (this.ended) return Promise.reject(new RoomcastError('closed', 'unsubscribed'))
    if (this.v1 !== undefined) return this.v1.publish(data)
    if (this.inner !== undefined) return this.inner.sub.publish(data)
    return this.owner.publish(this.room, data)
  }

  /** Stop receiving this room. */
  unsubscribe(): Promise<void> {
    return this.owner.unsubscribe(this)
  }

  /** @internal The subscription's `subscribed` frame, or a v1 welcome. */
  live(f: { seq: number; epoch: string; resumed?: { since: number; complete: boolean } }): void {
    const previousEpoch = this.epoch
    let missed: Missed | undefined
    if (f.resumed === undefined) this.tracker.reset(f.seq)
    else if (!f.resumed.complete) {
      const restarted = previousEpoch !== undefined && previousEpoch !== f.epoch
      this.tracker.gap(restarted)
      missed = { since: f.resumed.since, restarted, epoch: f.epoch }
      if (previousEpoch !== undefined) missed.previousEpoch = previousEpoch
    }
    this.epoch = f.epoch
    this.emit('subscribed', { room: this.room, seq: f.seq, epoch: f.epoch })
    if (missed !== undefined) this.emit('missed', missed)
  }

  /** @internal A message of this room: shown once per seq. */
  message(f: MessageFrame): void {
    if (this.tracker.see(f.seq)) this.emit('message', f)
  }

  /** @internal A presence frame of this room: a roster, a diff, or (v1) a count. */
  presenceFrame(f: {
    connections: number
    members?: { sub: string; connections: number }[]
    joins?: { sub: string; connections: number }[]
    leaves?: { sub: string }[]
    truncated?: true
  }): void {
    if (f.members === undefined && f.joins === undefined) {
      this.roster = { room: this.room, connections: f.connections }
    } else {
      const members = f.members !== undefined ? new Map<string, number>() : (this.roster?.members ?? new Map<string, number>())
      for (const m of f.members ?? []) members.set(m.sub, m.connections)
      for (const j of f.joins ?? []) members.set(j.sub, j.connections)
      for (const l of f.leaves ?? []) members.delete(l.sub)
      this.roster = { room: this.room, connections: f.connections, members }
      if (f.truncated === true) this.roster.truncated = true
    }
    this.emit('presence', this.roster)
  }

  /** @internal */
  emit<K extends keyof SubscriptionEvents>(type: K, event: SubscriptionEvents[K]): void {
    this.listeners.emit(type, event)
  }
}

const PING = '{"type":"ping"}'
/** The room a `room-v2` door check asks about: any valid name does (a door check opens no room). */
const PROBE_ROOM = 'roomcast-door-check'

/** A frame from the server, read loosely: each case uses the fields its type has (wire/v2.ts). */
interface Incoming {
  type?: string
  room?: string
  id?: string
  seq: number
  epoch?: string
  connections: number
  resumed?: { since: number; complete: boolean }
  code?: string
  message?: string
  duplicate?: boolean
}

/** One protocol v2 connection with many subscriptions. Connects on construction; reconnects until `close()`. */
export class RoomcastConnection {
  private readonly WS: typeof WebSocket
  private readonly fetch: typeof fetch | undefined
  private readonly base: URL
  private readonly subs = new Map<string, Subscription>()
  /** Publishes until each is acked, resent under its id where the answer was lost (outbox.ts). */
  private readonly outbox: Outbox
  /** Sent as `?client=` on every connect: the server deduplicates this connection's publish ids under it. */
  readonly clientKey: string
  private readonly listeners = new Listeners<{ state: ConnectionState }>()
  private transport: Promise<Transport>
  private ws: WebSocket | undefined
  private current: ConnectionState = 'connecting'
  private attempt = 0
  private retryTimer: ReturnType<typeof setTimeout> | undefined
  private pingTimer: ReturnType<typeof setTimeout> | undefined
  private silent = false

  constructor(
    private readonly options: ConnectionOptions,
    /** @internal Set for the inner connection of a room's own v2 socket. */
    private readonly inner?: Inner,
  ) {
    const WS = options.WebSocket ?? globalThis.WebSocket
    if (typeof WS !== 'function') throw new TypeError('no WebSocket here; pass one as options.WebSocket')
    this.WS = WS
    this.fetch = options.fetch ?? (typeof globalThis.fetch === 'function' ? globalThis.fetch.bind(globalThis) : undefined)
    const base = new URL(options.url)
    base.protocol = base.protocol.replace(/^http/, 'ws')
    if (!base.pathname.endsWith('/')) base.pathname += '/'
    this.base = base
    if (options.clientKey !== undefined && !/^[A-Za-z0-9_-]{1,64}$/.test(options.clientKey)) throw new TypeError('clientKey must be 1 to 64 of A-Z a-z 0-9 _ -')
    this.clientKey = options.clientKey ?? randomKey()
    const backoff = { initialDelayMs: options.initialDelayMs ?? 500, maxDelayMs: options.maxDelayMs ?? 10_000 }
    this.outbox = new Outbox({
      ackTimeoutMs: options.ackTimeoutMs ?? 120_000,
      maxQueue: options.maxQueue ?? 100,
      dedupeWindowMs: options.dedupeWindowMs ?? 120_000,
      backoff,
      idPrefix: `${this.clientKey}.`,
      send: (frame) => {
        if (this.current !== 'open' || this.ws === undefined) return false
        this.ws.send(frame)
        return true
      },
      fail: (code, message) => new RoomcastError(code, message),
    })
    this.transport = this.chooseTransport()
    void this.transport.then((t) => {
      if (t === 'v2') void this.connect()
      else this.setState('open')
    })
  }

  /** The connection state (per-room transport: `open` once chosen; each room reconnects on its own). */
  get state(): ConnectionState {
    return this.current
  }

  /** Which transport is in use, once chosen. */
  whichTransport(): Promise<Transport> {
    return this.transport
  }

  /** Listen to state changes. */
  on(type: 'state', fn: Listener<ConnectionState>): () => void {
    return this.listeners.on(type, fn)
  }

  /** Subscribe to `room`; the subscription resumes by itself after every reconnect. */
  subscribe(room: string, options: SubscribeOptions = {}): Subscription {
    if (!isRoomName(room)) throw new TypeError('room names are 1 to 64 of A-Z a-z 0-9 _ . -')
    if (this.subs.has(room)) throw new TypeError(`already subscribed to ${room}`)
    const sub = new Subscription(room, options, this)
    this.subs.set(room, sub)
    void this.transport.then((t) => {
      if (sub.ended) return
      if (t === 'per-room') this.openPerRoom(sub)
      else if (t === 'room-v2') this.openRoomV2(sub)
      else if (this.current === 'open') this.sendSubscribe(sub)
    })
    return sub
  }

  /**
   * @internal Publish to `room` (subscribed or not, v2): queued while not connected, and, as RoomcastClient's,
   * resent under its id where its answer was lost, so it resolves once with the seq everyone saw.
   */
  publish(room: string, data: unknown): Promise<number> {
    if (this.current === 'closed') return Promise.reject(new RoomcastError('closed', 'the client is closed'))
    const inner = this.subs.get(room)?.inner
    if (inner !== undefined) return inner.sub.publish(data)
    return this.outbox.publish(data, this.current === 'open' && this.ws !== undefined, room)
  }

  /** @internal */
  async unsubscribe(sub: Subscription): Promise<void> {
    if (sub.ended) return
    sub.ended = true
    this.subs.delete(sub.room)
    if (sub.v1 !== undefined) return sub.v1.close()
    if (sub.inner !== undefined) return sub.inner.conn.close()
    if (this.current === 'open') this.ws?.send(JSON.stringify({ type: 'unsubscribe', room: sub.room }))
  }

  /** Stop for good: every subscription ends and the socket closes. */
  async close(): Promise<void> {
    if (this.current === 'closed') return
    this.setState('closed')
    clearTimeout(this.retryTimer)
    clearTimeout(this.pingTimer)
    this.outbox.close()
    const closing = [...this.subs.values()].map((s) => this.unsubscribe(s))
    const ws = this.ws
    this.ws = undefined
    if (ws !== undefined && ws.readyState !== ws.CLOSED) {
      closing.push(
        new Promise<void>((resolve) => {
          ws.onclose = () => resolve()
          setTimeout(resolve, 2000)
          ws.close(1000)
        }),
      )
    }
    await Promise.all(closing)
  }

  // ---- transport ----

  /**
   * v2 door checks: the server answers 204 where it serves v2 on `/`, 400 where it does not (one socket per
   * room). Then the same question on a room's URL: 400 only from a server that has no v2 there (an older one);
   * any other answer (204, or a 401 for want of a token) means it has.
   */
  private async chooseTransport(): Promise<Transport> {
    if (this.inner !== undefined) return 'v2'
    const asked = this.options.transport ?? 'auto'
    if (asked !== 'auto') return asked
    if (this.fetch === undefined) return 'v2'
    if (!(await this.refusesV2(''))) return 'v2'
    return (await this.refusesV2(`rooms/${PROBE_ROOM}`)) ? 'per-room' : 'room-v2'
  }

  /** Whether a v2 door check at `path` (under the base URL) is refused with 400 bad_request; a failed check is no refusal. */
  private async refusesV2(path: string): Promise<boolean> {
    const u = new URL(path, this.base.href)
    u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:'
    u.searchParams.set('check', '')
    u.searchParams.set('protocol', SUBPROTOCOL_V2)
    try {
      const res = await this.fetch?.(u.href)
      return res !== undefined && res.status === 400 && res.headers.get('x-roomcast-error') === 'bad_request'
    } catch {
      return false
    }
  }

  /** Transport `room-v2`: the subscription's own v2 connection on its room's URL, its events passed on as this subscription's. */
  private openRoomV2(sub: Subscription): void {
    // The same client key: publish ids are deduplicated per room, and each room has one socket here.
    const options: ConnectionOptions = { ...this.options, transport: 'v2', WebSocket: this.WS, clientKey: this.clientKey }
    if (this.fetch !== undefined) options.fetch = this.fetch
    const conn = new RoomcastConnection(options, { path: `rooms/${encodeURIComponent(sub.room)}` })
    const inner = conn.subscribe(sub.room, sub.options)
    sub.inner = { conn, sub: inner }
    inner.on('message', (m) => sub.emit('message', m))
    inner.on('presence', (p) => sub.emit('presence', p))
    inner.on('missed', (m) => sub.emit('missed', m))
    inner.on('subscribed', (f) => sub.emit('subscribed', f))
    inner.on('error', (e) => sub.emit('error', e))
  }

  private openPerRoom(sub: Subscription): void {
    // This connection's settings, and its client key: publish ids are deduplicated per room, and each room has one socket here.
    const o = this.options
    const client = new RoomClient({
      url: this.base.href,
      room: sub.room,
      since: sub.firstSince,
      token: o.token,
      WebSocket: this.WS,
      fetch: this.fetch,
      pingIntervalMs: o.pingIntervalMs,
      clientKey: this.clientKey,
      ackTimeoutMs: o.ackTimeoutMs,
      dedupeWindowMs: o.dedupeWindowMs,
      maxQueue: o.maxQueue,
      initialDelayMs: o.initialDelayMs,
      maxDelayMs: o.maxDelayMs,
    })
    sub.v1 = client
    client.on('welcome', (w) => sub.live(w))
    client.on('message', (m) => sub.message(m))
    client.on('presence', (p) => sub.presenceFrame(p))
    client.on('missed', (m) => sub.emit('missed', m))
    client.on('error', (e) => sub.emit('error', e))
  }

  private async connect(): Promise<void> {
    this.retryTimer = undefined
    if (this.current === 'closed') return
    let token: string | undefined
    try {
      token = typeof this.options.token === 'function' ? await this.options.token() : this.options.token
    } catch {
      return this.retry()
    }
    const url = new URL(this.inner?.path ?? '', this.base.href)
    url.searchParams.set('client', this.clientKey)
    const ws = new this.WS(url.href, token === undefined ? SUBPROTOCOL_V2 : [SUBPROTOCOL_V2, token])
    this.ws = ws
    ws.onmessage = (e) => {
      if (this.ws === ws) this.receive(e.data)
    }
    ws.onclose = (e) => {
      if (this.ws !== ws) return
      this.ws = undefined
      clearTimeout(this.pingTimer)
      // What was sent and not acked is resent after the next welcome (or, past the dedupe window, rejected).
      this.outbox.lost(e.reason ? `${e.code}: ${e.reason}` : String(e.code))
      if (this.current === 'closed') return
      if (closeRetry(e.reason)?.retry === 'terminal') return this.setState('closed')
      this.retry()
    }
    ws.onerror = () => {}
  }

  private retry(): void {
    this.setState('reconnecting')
    const delay = backoffDelay(this.attempt++, { initialDelayMs: this.options.initialDelayMs ?? 500, maxDelayMs: this.options.maxDelayMs ?? 10_000 })
    this.retryTimer = setTimeout(() => void this.connect(), delay)
  }

  private sendSubscribe(sub: Subscription): void {
    const f: Record<string, unknown> = { type: 'subscribe', room: sub.room, id: `s:${sub.room}` }
    // Resume from where this subscription is; the first time, from what it asked for.
    if (sub.epoch !== undefined) {
      f.since = sub.tracker.floor
      f.epoch = sub.epoch
    } else if (sub.firstSince !== undefined) f.since = sub.firstSince
    if (sub.options.presence === true) f.presence = true
    this.ws?.send(JSON.stringify(f))
  }

  private receive(data: unknown): void {
    if (typeof data !== 'string') return
    let f: Incoming
    try {
      f = JSON.parse(data) as Incoming
    } catch {
      return
    }
    this.silent = false
    const sub = typeof f.room === 'string' ? this.subs.get(f.room) : undefined
    switch (f.type) {
      case 'welcome':
        this.attempt = 0
        this.setState('open')
        for (const s of this.subs.values()) this.sendSubscribe(s)
        this.outbox.flush()
        this.heartbeat()
        return
      case 'subscribed':
        return sub?.live(f as Incoming & { epoch: string })
      case 'message':
        return sub?.message(f as unknown as MessageFrame)
      case 'presence':
        return sub?.presenceFrame(f)
      case 'ack': {
        sub?.tracker.see(f.seq)
        this.outbox.acked(String(f.id), f.seq, f.duplicate === true)
        return
      }
      case 'error': {
        const err = new RoomcastError(f.code as ClientErrorCode, String(f.message))
        if (typeof f.id === 'string' && this.outbox.refused(f.id, f.code as ErrorCode, String(f.message))) return
        sub?.emit('error', err)
        // A refused subscribe ends that subscription: the server holds none for it.
        if (sub !== undefined && f.id === `s:${sub.room}` && f.code !== 'rate_limited' && f.code !== 'unavailable') {
          sub.ended = true
          this.subs.delete(sub.room)
        }
        return
      }
    }
  }

  private heartbeat(): void {
    const every = this.options.pingIntervalMs ?? 25_000
    if (every <= 0) return
    const ws = this.ws
    clearTimeout(this.pingTimer)
    this.pingTimer = setTimeout(() => {
      if (this.ws !== ws || ws === undefined) return
      if (this.silent) return ws.close()
      this.silent = true
      ws.send(PING)
      this.heartbeat()
    }, every)
  }

  private setState(state: ConnectionState): void {
    if (this.current === state) return
    this.current = state
    this.listeners.emit('state', state)
  }
}
