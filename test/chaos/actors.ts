/**
 * The clients of a chaos run, each on the client library over `ws` through
 * a TCP proxy of its own: publishers that record how every `publish()`
 * settled, members that record every message they were given, and an HTTP
 * publisher that sends each message with an Idempotency-Key until it gets
 * an answer. Every loop is bounded by a deadline and a count.
 */
import WS from 'ws'
import type { Missed } from '../../src/client/index.ts'
import { RoomcastClient } from '../../src/client/index.ts'
import type { TcpProxy } from '../support/tcp-proxy.ts'

/** How one publish ended, once (a second settle of one promise would be a bug, and is counted). */
export interface Outcome {
  data: string
  room: string
  /** How many times its promise settled: exactly 1 at the end of a good run. */
  settles: number
  seq?: number
  code?: string
}

/** Client settings for a run of faults: resend within the server's default window, notice silence within 2 s. */
const CLIENT = {
  ackTimeoutMs: 120_000,
  dedupeWindowMs: 120_000,
  maxQueue: 100_000,
  initialDelayMs: 100,
  maxDelayMs: 1000,
  connectTimeoutMs: 5000,
  pingIntervalMs: 1000,
  WebSocket: WS as unknown as typeof WebSocket,
}

/** A client on a proxy, homed on one instance. */
export interface Placed {
  name: string
  room: string
  proxy: TcpProxy
  /** Index of the instance its proxy goes to when that instance is up. */
  home: number
}

/** Publishes `P<i>:<n>` at a steady rate with at most `maxInflight` unsettled, and records each outcome. */
export class Publisher implements Placed {
  readonly client: RoomcastClient
  readonly outcomes: Outcome[] = []
  private sent = 0

  constructor(
    readonly name: string,
    readonly room: string,
    readonly proxy: TcpProxy,
    readonly home: number,
  ) {
    this.client = new RoomcastClient({ ...CLIENT, url: proxy.ws, room })
    // Its own messages can come back in a replay after a reconnect; a member's view is what is checked.
    this.client.on('error', () => {})
  }

  /** Unsettled publishes. */
  get inflight(): number {
    return this.outcomes.filter((o) => o.settles === 0).length
  }

  /** Publish until `until` (Date.now()) or `max` messages, `perSecond` a second, `maxInflight` unsettled at most. */
  async run(until: number, perSecond: number, max: number, maxInflight = 200): Promise<void> {
    const every = 1000 / perSecond
    let unsettled = 0
    while (Date.now() < until && this.sent < max) {
      if (unsettled < maxInflight) {
        const o: Outcome = { data: `${this.name}:${this.sent++}`, room: this.room, settles: 0 }
        this.outcomes.push(o)
        unsettled++
        this.client.publish(o.data).then(
          (seq) => {
            o.settles++
            o.seq = seq
            unsettled--
          },
          (err: { code?: string }) => {
            o.settles++
            o.code = err.code ?? 'unknown'
            unsettled--
          },
        )
      }
      await new Promise((r) => setTimeout(r, every))
    }
  }
}

/** A member that only listens: every message it was given, in the order given. */
export class Member implements Placed {
  readonly client: RoomcastClient
  readonly got: { seq: number; data: unknown }[] = []
  readonly missed: Missed[] = []
  welcomes = 0

  constructor(
    readonly name: string,
    readonly room: string,
    readonly proxy: TcpProxy,
    readonly home: number,
  ) {
    // since: 0, so it has the room from its first message on.
    this.client = new RoomcastClient({ ...CLIENT, url: proxy.ws, room, since: 0 })
    this.client.on('message', (m) => this.got.push({ seq: m.seq, data: m.data }))
    this.client.on('missed', (m) => this.missed.push(m))
    this.client.on('welcome', () => this.welcomes++)
    this.client.on('error', () => {})
  }
}

/**
 * POST /rooms/:room/messages with an Idempotency-Key per message, to an instance
 * that is up; a network error, 503 or 504 is retried with the same key and body
 * (at most `giveUpMs` per message), so each message ends with the one seq it got.
 */
export class HttpPublisher {
  readonly outcomes: Outcome[] = []
  /** Answers that named a repeat (202 duplicate): each a retry whose first attempt had gone through. */
  duplicates = 0
  retries = 0
  private sent = 0

  constructor(
    readonly name: string,
    readonly room: string,
    /** The base URL of an instance that is up now, or undefined if none is. */
    private readonly target: () => string | undefined,
    private readonly giveUpMs = 60_000,
  ) {}

  async run(until: number, perSecond: number, max: number): Promise<void> {
    const every = 1000 / perSecond
    while (Date.now() < until && this.sent < max) {
      const o: Outcome = { data: `${this.name}:${this.sent++}`, room: this.room, settles: 0 }
      this.outcomes.push(o)
      await this.send(o)
      await new Promise((r) => setTimeout(r, every))
    }
  }

  private async send(o: Outcome): Promise<void> {
    const deadline = Date.now() + this.giveUpMs
    const key = `${o.data}.key`
    for (let attempt = 0; Date.now() < deadline; attempt++) {
      if (attempt > 0) {
        this.retries++
        await new Promise((r) => setTimeout(r, Math.min(1000, 50 * 2 ** attempt)))
      }
      const base = this.target()
      if (base === undefined) continue
      try {
        const res = await fetch(`${base}/rooms/${this.room}/messages`, {
          method: 'POST',
          body: o.data,
          headers: { 'content-type': 'text/plain', 'idempotency-key': key },
          signal: AbortSignal.timeout(10_000),
        })
        const body = (await res.json()) as { seq?: number; duplicate?: boolean; error?: string }
        if (res.status === 202 && typeof body.seq === 'number') {
          if (body.duplicate === true) this.duplicates++
          o.seq = body.seq
          o.settles++
          return
        }
        // 503 (not published) and 504 (not known): the same key again is safe either way.
        if (res.status === 503 || res.status === 504) continue
        o.code = body.error ?? `http_${res.status}`
        o.settles++
        return
      } catch {
        // Connection refused or reset, or no answer in time: not known; the key makes a retry safe.
      }
    }
    o.code = 'gave_up'
    o.settles++
  }
}
