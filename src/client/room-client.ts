/**
 * The v1 client of one room (what `RoomcastClient` is without `multiRoom`,
 * client.ts, and what RoomcastConnection opens per room where the server
 * serves no v2): a small roomcast client over the web-standard `WebSocket`
 * (browsers, Deno, Bun, Workers; on Node 20 pass `ws`). Json mode, reconnect with backoff and
 * jitter, resume with since+epoch, de-duplication by seq, acked publishes
 * resent under the same id until they are acked (outbox.ts), and a bounded
 * queue while disconnected. Where the server says why it closed or refused (a
 * close reason, or a door check after a refused upgrade), the state change
 * carries it, and a terminal one ends the reconnecting.
 */

import type { MessageFrame, PresenceFrame, ServerFrame, WelcomeFrame } from '../wire/frames.ts'
import { ROOM_NAME_RULE, SUBPROTOCOL, isRoomName } from '../wire/names.ts'
import { backoffDelay } from './backoff.ts'
import { askWhy } from './door-check.ts'
import { RoomcastError } from './error.ts'
import type { Listener } from './listeners.ts'
import { Listeners } from './listeners.ts'
import { Outbox } from './outbox.ts'
import { closeRetry } from './retry.ts'
import { SeqTracker } from './seq-tracker.ts'

export type { ClientErrorCode, ErrorDetails } from './error.ts'
export { RoomcastError }

/**
 * `connecting` (first time), `open` (welcomed), `reconnecting` (lost; waiting or trying again), `closed`
 * (by `close()`, or by the server where trying again cannot help: then the state change has an `error`).
 */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed'

export interface ClientOptions {
  /** The server: `ws(s)://host[:port][/prefix/]` (`http(s)://` works too). Its query is kept on every connect. */
  url: string
  /**
   * RoomcastClient only: many rooms over one connection. The client has no room of its own and opens no v1
   * socket; each `subscribe(room, {since?, presence?})` runs over one RoomcastConnection (protocol v2, or
   * one socket per room where the server cannot), which shares this client's url, token, clientKey,
   * backoff, ack, queue, ping and transport settings. `room` and `since` must then be absent.
   */
  multiRoom?: boolean
  /** With `multiRoom`: `auto` (default), `v2`, `room-v2` or `per-room`, as RoomcastConnection's `transport`. */
  transport?: 'auto' | 'v2' | 'room-v2' | 'per-room'
  /** The room to join; omitted, the server's default room (an upgrade on `/`). */
  room?: string
  /** Ask the first join for the history after this seq (0: all the room holds). Omitted: only what comes next. */
  since?: number
  /** A credential sent as a second subprotocol entry on every connect; a function is asked again each time. */
  token?: string | (() => string | Promise<string>)
  /** A publish that gets no `ack` in this long rejects with `timeout` (default 120 s, the server's default dedupe window). */
  ackTimeoutMs?: number
  /**
   * The server's DEDUPE_WINDOW_MS (default 120 s): a publish whose answer was lost is resent with the
   * same id while younger than this, which the server recognises as a repeat.
   */
  dedupeWindowMs?: number
  /**
   * This client's key, sent as `?client=` on every connect so the server deduplicates its publish ids across
   * reconnects (1 to 64 of A-Z a-z 0-9 _ -). Default: a random one per client instance.
   */
  clientKey?: string
  /** Publishes kept while not connected; past it `publish` rejects with `queue_full` (default 100). */
  maxQueue?: number
  /** Bound of the first reconnect delay; it doubles per attempt (default 500 ms). */
  initialDelayMs?: number
  /** Longest reconnect delay (default 10 s). */
  maxDelayMs?: number
  /** An attempt with no `welcome` in this long is given up and retried (default 10 s). */
  connectTimeoutMs?: number
  /** Send a ping this often; a connection silent for two intervals is dropped and reconnected (default 25 s; 0: never). */
  pingIntervalMs?: number
  /** The WebSocket constructor (default `globalThis.WebSocket`). */
  WebSocket?: typeof WebSocket
  /** The fetch for asking the server why it refused an upgrade (default `globalThis.fetch`; none: not asked). */
  fetch?: typeof fetch
}

/** A state change, with why and when the next attempt comes for `reconnecting`. */
export interface StateChange {
  state: ConnectionState
  /** The close code and reason of the connection that was lost (1006 when the client gave it up itself). */
  code?: number
  reason?: string
  /** Milliseconds until the next attempt, and which attempt that is (1-based). */
  delayMs?: number
  attempt?: number
  /**
   * Why the server closed or refused the connection, where it said: the code of the close reason, or of a
   * refused upgrade (asked with a door check). With `retry: 'terminal'` the state is `closed` for good.
   */
  error?: RoomcastError
}

/** A resume could not deliver everything after `since`. */
export interface Missed {
  since: number
  /** The room's history was lost and its numbers started over (for example, a single server restarted). */
  restarted: boolean
  epoch: string
  previousEpoch?: string
}

/** The events and what their listeners receive. */
export interface ClientEvents {
  /** A message from another member, live or replayed after a reconnect; once per seq. */
  message: MessageFrame
  /** The room's member count changed. */
  presence: PresenceFrame
  /** The connection state changed. */
  state: StateChange
  /** Joined or rejoined the room (before any message of that connection). */
  welcome: WelcomeFrame
  /** Something was missed while away; sent after `welcome`, before the replay. */
  missed: Missed
  /** An error not tied to one publish (a server `error` frame without our id, a token function that threw). */
  error: RoomcastError
}

const PING = '{"type":"ping"}'
const CLOSE_WAIT_MS = 2000
const CLIENT_KEY = /^[A-Za-z0-9_-]{1,64}$/

/** A random client key: crypto.randomUUID where there is one (secure contexts), else 16 random bytes in hex. */
export function randomKey(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID()
  return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('')
}

/** How long an attempt waits past its backoff for the door check of the last refusal. */
const CHECK_GRACE_MS = 2000

/** A client of one room. It connects on construction and keeps reconnecting until `close()`, or until the server says that cannot help. */
export class RoomClient {
  private readonly WS: typeof WebSocket
  private readonly fetch: typeof fetch | undefined
  private readonly base: URL
  private readonly path: string
  private readonly token: ClientOptions['token']
  private readonly backoff: { initialDelayMs: number; maxDelayMs: number }
  private readonly connectTimeoutMs: number
  private readonly pingIntervalMs: number
  private readonly tracker = new SeqTracker()
  private readonly listeners = new Listeners<ClientEvents>()
  private readonly outbox: Outbox
  /** Sent as `?client=` on every connect: the server deduplicates this client's publish ids under it. */
  readonly clientKey: string
  private ws: WebSocket | undefined
  private current: ConnectionState = 'connecting'
  private attempt = 0
  private firstSince: number | undefined
  private currentEpoch: string | undefined
  private count: number | undefined
  private retryTimer: ReturnType<typeof setTimeout> | undefined
  /** When the waiting retry is due (Date.now()). */
  private retryAt = 0
  /** The door check of the last refused upgrade, while it is out: the next attempt waits for it (a little). */
  private check: Promise<unknown> | undefined
  /** Bumped by every wait, so an attempt scheduled by an earlier one does not also run. */
  private waits = 0
  private connectTimer: ReturnType<typeof setTimeout> | undefined
  private pingTimer: ReturnType<typeof setTimeout> | undefined
  private silent = false

  /** `connectNow` false: built for a subclass that connects otherwise (a multi-room RoomcastClient). */
  constructor(options: ClientOptions, connectNow = true) {
    const WS = options.WebSocket ?? globalThis.WebSocket
    if (typeof WS !== 'function') throw new TypeError('no WebSocket here; pass one as options.WebSocket')
    this.WS = WS
    this.fetch = options.fetch ?? (typeof globalThis.fetch === 'function' ? globalThis.fetch.bind(globalThis) : undefined)
    const base = new URL(options.url)
    base.protocol = base.protocol.replace(/^http/, 'ws')
    if (base.protocol !== 'ws:' && base.protocol !== 'wss:') throw new TypeError(`not a ws(s) or http(s) URL: ${options.url}`)
    if (!base.pathname.endsWith('/')) base.pathname += '/'
    this.base = base
    if (options.room !== undefined && !isRoomName(options.room)) throw new TypeError(ROOM_NAME_RULE)
    this.path = options.room === undefined ? '' : `rooms/${options.room}`
    this.token = options.token
    this.backoff = { initialDelayMs: options.initialDelayMs ?? 500, maxDelayMs: options.maxDelayMs ?? 10_000 }
    if (options.clientKey !== undefined && !CLIENT_KEY.test(options.clientKey)) throw new TypeError('clientKey must be 1 to 64 of A-Z a-z 0-9 _ -')
    this.clientKey = options.clientKey ?? randomKey()
    this.outbox = new Outbox({
      ackTimeoutMs: options.ackTimeoutMs ?? 120_000,
      maxQueue: options.maxQueue ?? 100,
      dedupeWindowMs: options.dedupeWindowMs ?? 120_000,
      backoff: this.backoff,
      idPrefix: `${this.clientKey}.`,
      send: (frame) => this.sendOpen(frame),
      fail: (code, message) => new RoomcastError(code, message),
    })
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000
    this.pingIntervalMs = options.pingIntervalMs ?? 25_000
    if (options.since !== undefined) {
      this.firstSince = options.since
      this.tracker.reset(options.since)
    }
    if (connectNow) void this.connect()
  }

  /** The connection state. */
  get state(): ConnectionState {
    return this.current
  }

  /** The last seq up to which nothing is missing; a reconnect resumes after it. */
  get lastSeq(): number {
    return this.tracker.floor
  }

  /** The epoch of the room's history, from the last `welcome`. */
  get epoch(): string | undefined {
    return this.currentEpoch
  }

  /** The room's member count from the last `presence` frame. */
  get connections(): number | undefined {
    return this.count
  }

  /** Publishes sent again under their id, and how many of those the server acked as repeats (the first had gone through). */
  get resends(): { sent: number; repeats: number } {
    return { sent: this.outbox.resent, repeats: this.outbox.repeats }
  }

  /** Publishes waiting for a connection (new ones, and ones to resend). */
  get queued(): number {
    return this.outbox.queued
  }

  /** Listen to an event; returns a function that stops listening. */
  on<K extends keyof ClientEvents>(type: K, fn: Listener<ClientEvents[K]>): () => void {
    return this.listeners.on(type, fn)
  }

  /**
   * Publish `data` (any JSON value) to the room. Resolves once, with its seq,
   * when the server acks it; a publish whose answer was lost (a dropped
   * connection, `outcome_unknown`) is resent with the same id, which the server
   * publishes at most once, and one refused as `unavailable` is tried again
   * until `ackTimeoutMs`. Rejects with a RoomcastError: the server's code,
   * `timeout` (no ack in time), `queue_full`, `closed`, `bad_data`, or
   * `connection_lost` / `outcome_unknown` (its answer was lost and the dedupe
   * window passed before a resend was acked: it may or may not have been published).
   */
  publish(data: unknown): Promise<number> {
    if (this.current === 'closed') return Promise.reject(new RoomcastError('closed', 'the client is closed'))
    return this.outbox.publish(data, this.current === 'open')
  }

  /** Stop for good: stop reconnecting, reject what is waiting with `closed`, close the socket (resolves when closed, 2 s at most). */
  close(): Promise<void> {
    if (this.current === 'closed') return Promise.resolve()
    this.setState({ state: 'closed', code: 1000, reason: 'closed by the client' })
    this.stopTimers()
    clearTimeout(this.retryTimer)
    this.outbox.close()
    const ws = this.ws
    this.ws = undefined
    if (ws === undefined || ws.readyState === ws.CLOSED) return Promise.resolve()
    return new Promise((resolve) => {
      ws.onclose = () => resolve()
      // On a dead network the closing handshake can hang for long; the caller should not.
      setTimeout(resolve, CLOSE_WAIT_MS)
      try {
        if (ws.readyState === ws.OPEN) ws.close(1000)
        else ws.close()
      } catch {
        resolve()
      }
    })
  }

  // ---- the connection ----

  private async connect(): Promise<void> {
    this.retryTimer = undefined // no longer waiting: a late answer about the last attempt is dropped
    let token: string | undefined
    try {
      token = typeof this.token === 'function' ? await this.token() : this.token
    } catch (err) {
      this.emit('error', new RoomcastError('token_failed', `token(): ${String(err)}`))
      if (this.current !== 'closed') this.retry(1006, 'no token')
      return
    }
    if (this.current === 'closed') return
    const url = this.url()
    let ws: WebSocket
    try {
      ws = new this.WS(url, token === undefined ? SUBPROTOCOL : [SUBPROTOCOL, token])
    } catch (err) {
      // Some runtimes throw (rather than close) for an unreachable or refused URL.
      return this.retry(1006, String(err))
    }
    this.ws = ws
    let opened = false
    ws.onopen = () => {
      opened = true
    }
    ws.onmessage = (e) => {
      if (this.ws === ws) this.receive(e.data)
    }
    ws.onclose = (e) => {
      if (this.ws !== ws) return
      this.lost(e.code, e.reason)
      // Refused before the upgrade, or no server at all: ask the door which while the retry waits (not
      // before it: a question that hangs must not hold up the next attempt). An answer after it is dropped.
      if (opened || this.fetch === undefined || this.current === 'closed') return
      const waiting = this.retryTimer
      const check = askWhy(url, token, this.connectTimeoutMs, this.fetch).then((why) => {
        if (this.check === check) this.check = undefined
        if (why !== undefined && this.retryTimer === waiting && this.ws === undefined && this.current !== 'closed') this.refused(e.code, e.reason, why)
      })
      this.check = check
    }
    // A close event always follows an error event; the close is where we act.
    ws.onerror = () => {}
    this.connectTimer = setTimeout(() => this.abandon(ws, `no welcome within ${this.connectTimeoutMs} ms`), this.connectTimeoutMs)
  }

  private url(): string {
    const u = new URL(this.path, this.base)
    u.search = this.base.search
    u.searchParams.set('client', this.clientKey)
    if (this.currentEpoch !== undefined) {
      u.searchParams.set('since', String(this.tracker.floor))
      u.searchParams.set('epoch', this.currentEpoch)
    } else if (this.firstSince !== undefined) {
      u.searchParams.set('since', String(this.firstSince))
    }
    return u.href
  }

  private receive(data: unknown): void {
    if (typeof data !== 'string') return // json mode never sends binary frames
    let f: ServerFrame
    try {
      f = JSON.parse(data) as ServerFrame
    } catch {
      return this.emit('error', new RoomcastError('bad_json', 'the server sent a frame that is not JSON'))
    }
    this.silent = false
    switch (f.type) {
      case 'welcome':
        return this.welcome(f)
      case 'message':
        if (this.tracker.see(f.seq)) this.emit('message', f)
        return
      case 'ack': {
        // Our own message comes back in a replay after a reconnect; knowing its seq drops it there.
        this.tracker.see(f.seq)
        this.outbox.acked(f.id, f.seq, f.duplicate === true)
        return
      }
      case 'error':
        if (f.id === undefined || !this.outbox.refused(f.id, f.code, f.message)) this.emit('error', new RoomcastError(f.code, f.message))
        return
      case 'presence':
        this.count = f.connections
        return this.emit('presence', f)
    }
  }

  private welcome(w: WelcomeFrame): void {
    clearTimeout(this.connectTimer)
    const previousEpoch = this.currentEpoch
    let missed: Missed | undefined
    if (w.resumed === undefined) this.tracker.reset(w.seq)
    else if (!w.resumed.complete) {
      const restarted = previousEpoch !== undefined && previousEpoch !== w.epoch
      this.tracker.gap(restarted)
      missed = { since: w.resumed.since, restarted, epoch: w.epoch, previousEpoch }
    }
    this.currentEpoch = w.epoch
    this.attempt = 0
    this.setState({ state: 'open' })
    this.emit('welcome', w)
    if (missed !== undefined) this.emit('missed', missed)
    // Resends first, then what was queued; a listener above may have closed the client, which rejected it all.
    this.outbox.flush()
    if (this.pingIntervalMs > 0 && this.ws !== undefined) this.heartbeat(this.ws)
  }

  private heartbeat(ws: WebSocket): void {
    this.pingTimer = setTimeout(() => {
      if (this.ws !== ws) return
      if (this.silent) return this.abandon(ws, `nothing heard for ${2 * this.pingIntervalMs} ms`)
      this.silent = true
      ws.send(PING)
      this.heartbeat(ws)
    }, this.pingIntervalMs)
  }

  /** Give up on a socket that hangs (no welcome, no pong) and reconnect. */
  private abandon(ws: WebSocket, reason: string): void {
    if (this.ws !== ws) return
    this.ws = undefined
    try {
      ws.close()
    } catch {
      // Already closing; nothing to do.
    }
    this.lost(1006, reason)
  }

  /** The connection ended with `code` and `reason` (which names the server's error code, when it closed it). */
  private lost(code: number, reason: string): void {
    this.ws = undefined
    this.stopTimers()
    // What was sent and not acked is resent after the next welcome (or, past the dedupe window, rejected).
    this.outbox.lost(reason ? `${code}: ${reason}` : String(code))
    if (this.current === 'closed') return
    const error = closeError(reason)
    if (error?.retry === 'terminal') return this.stop(code, reason, error)
    this.retry(code, reason, error)
  }

  private retry(code: number, reason: string, error?: RoomcastError): void {
    this.attempt++
    const state = this.currentEpoch === undefined && this.current === 'connecting' ? 'connecting' : 'reconnecting'
    this.wait({ state, code, reason, delayMs: backoffDelay(this.attempt - 1, this.backoff), attempt: this.attempt, error })
  }

  /** The door said why it refused the last upgrade, while the retry waits: stop, or wait at least as long as it asked. */
  private refused(code: number, reason: string, error: RoomcastError): void {
    if (error.retry === 'terminal') return this.stop(code, reason, error)
    this.wait({ state: this.current, code, reason, delayMs: this.retryAt - Date.now(), attempt: this.attempt, error })
  }

  /** Announce `change` and connect again after its delay; the server's Retry-After is a floor (sooner would only be refused again). */
  private wait(change: StateChange & { delayMs: number }): void {
    change.delayMs = Math.max(0, change.delayMs, change.error?.retryAfterMs ?? 0)
    if (change.error === undefined) delete change.error
    clearTimeout(this.retryTimer)
    this.retryAt = Date.now() + change.delayMs
    this.setState(change)
    const turn = ++this.waits
    this.retryTimer = setTimeout(() => void this.afterCheck(turn), change.delayMs)
  }

  /**
   * Connect again, but not before the door check of the last refusal has answered (or CHECK_GRACE_MS has
   * passed: a check that hangs must not hold the client up), so a terminal refusal is not met twice.
   */
  private async afterCheck(turn: number): Promise<void> {
    if (this.check !== undefined) await Promise.race([this.check, new Promise((r) => setTimeout(r, CHECK_GRACE_MS))])
    if (turn === this.waits && this.current !== 'closed' && this.ws === undefined) await this.connect()
  }

  /** The server said trying again cannot help: closed, and what waits fails with its error. */
  private stop(code: number, reason: string, error: RoomcastError): void {
    clearTimeout(this.retryTimer)
    this.setState({ state: 'closed', code, reason, error })
    this.outbox.close(error)
  }

  private stopTimers(): void {
    clearTimeout(this.connectTimer)
    clearTimeout(this.pingTimer)
    this.silent = false
  }

  // ---- publishes ----

  /** Send a publish on the welcomed connection; false while there is none. */
  private sendOpen(frame: string): boolean {
    if (this.current !== 'open' || this.ws === undefined) return false
    this.ws.send(frame)
    return true
  }

  // ---- events ----

  /** Set the state and tell the listeners. */
  protected setState(change: StateChange): void {
    this.current = change.state
    this.emit('state', change)
  }

  private emit<K extends keyof ClientEvents>(type: K, event: ClientEvents[K]): void {
    this.listeners.emit(type, event)
  }
}

/** The error a close reason names (`"<code>: <message>"`, as the server closes), if it names one of the Errors table's. */
function closeError(reason: string): RoomcastError | undefined {
  const named = closeRetry(reason)
  if (named === undefined) return undefined
  const message = reason.slice(named.code.length).replace(/^:\s*/, '')
  return new RoomcastError(named.code, message || reason, { retry: named.retry })
}
