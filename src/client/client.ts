/**
 * A small roomcast client over the web-standard `WebSocket` (browsers, Deno,
 * Bun, Workers; on Node 20 pass `ws`). Json mode, reconnect with backoff and
 * jitter, resume with since+epoch, de-duplication by seq, acked publishes and
 * a bounded queue while disconnected. Where the server says why it closed or
 * refused (a close reason, or a door check after a refused upgrade), the state
 * change carries it, and a terminal one ends the reconnecting.
 */
import type { MessageFrame, PresenceFrame, ServerFrame, WelcomeFrame } from '../wire/frames.ts'
import { SUBPROTOCOL, isRoomName } from '../wire/names.ts'
import { backoffDelay } from './backoff.ts'
import { askWhy } from './door-check.ts'
import { RoomcastError } from './error.ts'
import { closeRetry } from './retry.ts'
import { SeqTracker } from './seq-tracker.ts'

export { RoomcastError }
export type { ClientErrorCode, ErrorDetails } from './error.ts'

/**
 * `connecting` (first time), `open` (welcomed), `reconnecting` (lost; waiting or trying again), `closed`
 * (by `close()`, or by the server where trying again cannot help: then the state change has an `error`).
 */
export type ConnectionState = 'connecting' | 'open' | 'reconnecting' | 'closed'

export interface ClientOptions {
  /** The server: `ws(s)://host[:port][/prefix/]` (`http(s)://` works too). Its query is kept on every connect. */
  url: string
  /** The room to join; omitted, the server's default room (an upgrade on `/`). */
  room?: string
  /** Ask the first join for the history after this seq (0: all the room holds). Omitted: only what comes next. */
  since?: number
  /** A credential sent as a second subprotocol entry on every connect; a function is asked again each time. */
  token?: string | (() => string | Promise<string>)
  /** A publish that gets no `ack` in this long rejects with `timeout` (default 10 s). */
  ackTimeoutMs?: number
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

type Listener<T> = (event: T) => void

interface Outgoing {
  id: string
  frame: string
  resolve: (seq: number) => void
  reject: (err: RoomcastError) => void
  timer: ReturnType<typeof setTimeout> | undefined
}

const PING = '{"type":"ping"}'
const CLOSE_WAIT_MS = 2000

/** A client of one room. It connects on construction and keeps reconnecting until `close()`, or until the server says that cannot help. */
export class RoomcastClient {
  private readonly WS: typeof WebSocket
  private readonly fetch: typeof fetch | undefined
  private readonly base: URL
  private readonly path: string
  private readonly token: ClientOptions['token']
  private readonly ackTimeoutMs: number
  private readonly maxQueue: number
  private readonly backoff: { initialDelayMs: number; maxDelayMs: number }
  private readonly connectTimeoutMs: number
  private readonly pingIntervalMs: number
  private readonly tracker = new SeqTracker()
  private readonly listeners = new Map<keyof ClientEvents, Set<Listener<never>>>()
  private readonly inflight = new Map<string, Outgoing>()
  private queue: Outgoing[] = []
  private ws: WebSocket | undefined
  private current: ConnectionState = 'connecting'
  private attempt = 0
  private ids = 0
  private firstSince: number | undefined
  private currentEpoch: string | undefined
  private count: number | undefined
  private retryTimer: ReturnType<typeof setTimeout> | undefined
  /** When the waiting retry is due (Date.now()). */
  private retryAt = 0
  private connectTimer: ReturnType<typeof setTimeout> | undefined
  private pingTimer: ReturnType<typeof setTimeout> | undefined
  private silent = false

  constructor(options: ClientOptions) {
    const WS = options.WebSocket ?? globalThis.WebSocket
    if (typeof WS !== 'function') throw new TypeError('no WebSocket here; pass one as options.WebSocket')
    this.WS = WS
    this.fetch = options.fetch ?? (typeof globalThis.fetch === 'function' ? globalThis.fetch.bind(globalThis) : undefined)
    const base = new URL(options.url)
    base.protocol = base.protocol.replace(/^http/, 'ws')
    if (base.protocol !== 'ws:' && base.protocol !== 'wss:') throw new TypeError(`not a ws(s) or http(s) URL: ${options.url}`)
    if (!base.pathname.endsWith('/')) base.pathname += '/'
    this.base = base
    if (options.room !== undefined && !isRoomName(options.room)) throw new TypeError('room names are 1 to 64 of A-Z a-z 0-9 _ . -')
    this.path = options.room === undefined ? '' : `rooms/${options.room}`
    this.token = options.token
    this.ackTimeoutMs = options.ackTimeoutMs ?? 10_000
    this.maxQueue = options.maxQueue ?? 100
    this.backoff = { initialDelayMs: options.initialDelayMs ?? 500, maxDelayMs: options.maxDelayMs ?? 10_000 }
    this.connectTimeoutMs = options.connectTimeoutMs ?? 10_000
    this.pingIntervalMs = options.pingIntervalMs ?? 25_000
    if (options.since !== undefined) {
      this.firstSince = options.since
      this.tracker.reset(options.since)
    }
    void this.connect()
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

  /** Publishes waiting for a connection. */
  get queued(): number {
    return this.queue.length
  }

  /** Listen to an event; returns a function that stops listening. */
  on<K extends keyof ClientEvents>(type: K, fn: Listener<ClientEvents[K]>): () => void {
    let set = this.listeners.get(type)
    if (set === undefined) {
      set = new Set()
      this.listeners.set(type, set)
    }
    set.add(fn)
    return () => void set.delete(fn)
  }

  /**
   * Publish `data` (any JSON value) to the room. Resolves with its seq once the
   * server acks it; rejects with a RoomcastError: the server's code, `timeout`
   * (no ack in time), `queue_full`, `connection_lost` (the connection dropped
   * before the ack: it may or may not have been published), `closed` or `bad_data`.
   */
  publish(data: unknown): Promise<number> {
    if (this.current === 'closed') return Promise.reject(new RoomcastError('closed', 'the client is closed'))
    if (data === undefined) return Promise.reject(new RoomcastError('bad_data', 'data must be a JSON value'))
    const id = `p${++this.ids}`
    let frame: string
    try {
      frame = JSON.stringify({ type: 'publish', data, id })
    } catch (err) {
      return Promise.reject(new RoomcastError('bad_data', `data is not JSON: ${String(err)}`))
    }
    if (this.current !== 'open' && this.queue.length >= this.maxQueue) {
      return Promise.reject(new RoomcastError('queue_full', `${this.maxQueue} publishes are already waiting for a connection`))
    }
    return new Promise((resolve, reject) => {
      const o: Outgoing = { id, frame, resolve, reject, timer: undefined }
      o.timer = setTimeout(() => this.expire(o), this.ackTimeoutMs)
      if (this.current === 'open') this.transmit(o)
      else this.queue.push(o)
    })
  }

  /** Stop for good: stop reconnecting, reject what is waiting with `closed`, close the socket (resolves when closed, 2 s at most). */
  close(): Promise<void> {
    if (this.current === 'closed') return Promise.resolve()
    this.setState({ state: 'closed', code: 1000, reason: 'closed by the client' })
    this.stopTimers()
    clearTimeout(this.retryTimer)
    const unsent = new RoomcastError('closed', 'the client was closed before it was sent')
    const unacked = new RoomcastError('closed', 'the client was closed before the ack; it may or may not have been published')
    for (const o of this.queue.splice(0)) this.settle(o, unsent)
    this.failInflight(unacked)
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
      void askWhy(url, token, this.connectTimeoutMs, this.fetch).then((why) => {
        if (why !== undefined && this.retryTimer === waiting && this.ws === undefined && this.current !== 'closed') this.refused(e.code, e.reason, why)
      })
    }
    // A close event always follows an error event; the close is where we act.
    ws.onerror = () => {}
    this.connectTimer = setTimeout(() => this.abandon(ws, `no welcome within ${this.connectTimeoutMs} ms`), this.connectTimeoutMs)
  }

  private url(): string {
    const u = new URL(this.path, this.base)
    u.search = this.base.search
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
        const o = this.inflight.get(f.id)
        if (o !== undefined) this.settle(o, f.seq)
        return
      }
      case 'error': {
        const err = new RoomcastError(f.code, f.message)
        const o = f.id === undefined ? undefined : this.inflight.get(f.id)
        if (o !== undefined) this.settle(o, err)
        else this.emit('error', err)
        return
      }
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
    // One at a time: a listener above may have closed the client, which rejects what is left.
    while (this.current === 'open') {
      const o = this.queue.shift()
      if (o === undefined) break
      this.transmit(o)
    }
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
    const why = reason ? `${code}: ${reason}` : String(code)
    this.failInflight(new RoomcastError('connection_lost', `connection lost (${why}) before the ack; it may or may not have been published`))
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
    this.retryTimer = setTimeout(() => void this.connect(), change.delayMs)
  }

  /** The server said trying again cannot help: closed, and what waits fails with its error. */
  private stop(code: number, reason: string, error: RoomcastError): void {
    clearTimeout(this.retryTimer)
    this.setState({ state: 'closed', code, reason, error })
    for (const o of this.queue.splice(0)) this.settle(o, error)
  }

  private stopTimers(): void {
    clearTimeout(this.connectTimer)
    clearTimeout(this.pingTimer)
    this.silent = false
  }

  // ---- publishes ----

  private transmit(o: Outgoing): void {
    // Only called while open, which always has a socket.
    if (this.ws === undefined) throw new Error('roomcast client: transmit without a socket')
    this.inflight.set(o.id, o)
    this.ws.send(o.frame)
  }

  private expire(o: Outgoing): void {
    const queued = this.queue.indexOf(o)
    if (queued >= 0) {
      this.queue.splice(queued, 1)
      this.settle(o, new RoomcastError('timeout', `not sent within ${this.ackTimeoutMs} ms: no connection`))
    } else {
      this.settle(o, new RoomcastError('timeout', `no ack within ${this.ackTimeoutMs} ms; it may or may not have been published`))
    }
  }

  private failInflight(err: RoomcastError): void {
    for (const o of this.inflight.values()) this.settle(o, err)
  }

  private settle(o: Outgoing, result: number | RoomcastError): void {
    clearTimeout(o.timer)
    this.inflight.delete(o.id)
    if (typeof result === 'number') o.resolve(result)
    else o.reject(result)
  }

  // ---- events ----

  private setState(change: StateChange): void {
    this.current = change.state
    this.emit('state', change)
  }

  private emit<K extends keyof ClientEvents>(type: K, event: ClientEvents[K]): void {
    const set = this.listeners.get(type)
    if (set === undefined) return
    for (const fn of [...set]) {
      try {
        ;(fn as Listener<ClientEvents[K]>)(event)
      } catch (err) {
        // A listener's bug is reported like any uncaught error, and the client goes on.
        setTimeout(() => {
          throw err
        })
      }
    }
  }
}

/** The error a close reason names (`"<code>: <message>"`, as the server closes), if it names one of the Errors table's. */
function closeError(reason: string): RoomcastError | undefined {
  const named = closeRetry(reason)
  if (named === undefined) return undefined
  const message = reason.slice(named.code.length).replace(/^:\s*/, '')
  return new RoomcastError(named.code, message || reason, { retry: named.retry })
}
