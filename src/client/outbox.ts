/**
 * The client's publishes until each is settled exactly once. A publish is sent
 * with an id the server deduplicates within its window (DEDUPE_WINDOW_MS), so
 * one whose answer was lost can be sent again safely: a publish sent without
 * an `ack` when the connection drops, or answered `outcome_unknown`, is resent
 * with the same id (after the next welcome, or after a backoff on the same
 * connection) until an ack gives its seq, the original's if it had gone
 * through. Only past the window does it give up, with the code that left its
 * outcome open. A publish refused as `unavailable` (the backend is down,
 * nothing was published) is tried again after a backoff too, until its
 * deadline: it resolves once the backend is back.
 */

import type { ErrorCode } from '../wire/errors.ts'
import { Errors } from '../wire/errors.ts'
import type { BackoffOptions } from './backoff.ts'
import { backoffDelay } from './backoff.ts'

/** The codes a publish can be rejected with (the client's ClientErrorCode holds them all). */
export type OutboxCode = ErrorCode | 'outcome_unknown' | 'timeout' | 'queue_full' | 'closed' | 'connection_lost' | 'bad_data'

/** Why a sent publish may or may not have been published: only an ack settles it now. */
type Doubt = 'connection_lost' | 'outcome_unknown'

/** What the outbox needs from its client. */
export interface OutboxOptions {
  /** A publish not acked in this long rejects with `timeout`. */
  ackTimeoutMs: number
  /** Publishes kept while not connected; past it, `queue_full`. */
  maxQueue: number
  /** The server's DEDUPE_WINDOW_MS: a publish is resent only while younger than (nine tenths of) this. */
  dedupeWindowMs: number
  /** Delays between resends on one connection (a resend refused as `unavailable`, an `outcome_unknown`). */
  backoff: BackoffOptions
  /** Put before every id, unique to this client: ids never repeat under one identity (a token's `sub` that several tabs share). */
  idPrefix: string
  /** Send a frame on the open, welcomed connection; false when there is none. */
  send(frame: string): boolean
  /** The error a publish rejects with. */
  fail(code: OutboxCode, message: string): Error
}

interface Outgoing {
  /** Its place in publish order, for resending in that order. */
  n: number
  id: string
  frame: string
  resolve: (seq: number) => void
  reject: (err: Error) => void
  deadline: ReturnType<typeof setTimeout> | undefined
  /** When it was first sent (0: never), from which the dedupe window counts. */
  firstSent: number
  doubt: Doubt | undefined
  /** Resends after a refusal on the same connection, for their backoff. */
  attempts: number
  /** The last refusal that said it was not published (`unavailable`), for a deadline that passes with nothing else known. */
  refusal: { code: ErrorCode; message: string } | undefined
  retry: ReturnType<typeof setTimeout> | undefined
  done: boolean
}

/** Resends stop at this share of the window: the server's window starts a little after the first send, and clocks and networks add a little more. */
const WINDOW_SHARE = 0.9

/** The publishes of one client: waiting for a connection, sent, or waiting to be resent. */
export class Outbox {
  /** To send on the next open connection, in order: resends first, then new publishes. */
  private waiting: Outgoing[] = []
  /** Sent on the current connection, not answered yet. */
  private readonly inflight = new Map<string, Outgoing>()
  /** Refused or answered `outcome_unknown` on the current connection: resent after a backoff. */
  private readonly later = new Set<Outgoing>()
  private count = 0
  /** Publishes sent again (after a lost answer, an outcome_unknown or an unavailable), and acks that named a repeat. */
  resent = 0
  repeats = 0

  constructor(private readonly o: OutboxOptions) {}

  /** Publishes waiting for a connection (new ones and resends). */
  get queued(): number {
    return this.waiting.length
  }

  /** Publish `data` (to `room`, for protocol v2): sent now if `open`, else queued. Resolves with its seq; rejects once, with an OutboxCode. */
  publish(data: unknown, open: boolean, room?: string): Promise<number> {
    if (data === undefined) return Promise.reject(this.o.fail('bad_data', 'data must be a JSON value'))
    const n = ++this.count
    const id = this.o.idPrefix + n.toString(36)
    let frame: string
    try {
      frame = JSON.stringify(room === undefined ? { type: 'publish', data, id } : { type: 'publish', room, data, id })
    } catch (err) {
      return Promise.reject(this.o.fail('bad_data', `data is not JSON: ${String(err)}`))
    }
    if (!open && this.waiting.length >= this.o.maxQueue) {
      return Promise.reject(this.o.fail('queue_full', `${this.o.maxQueue} publishes are already waiting for a connection`))
    }
    return new Promise((resolve, reject) => {
      const out: Outgoing = {
        n,
        id,
        frame,
        resolve,
        reject,
        deadline: undefined,
        firstSent: 0,
        doubt: undefined,
        attempts: 0,
        refusal: undefined,
        retry: undefined,
        done: false,
      }
      out.deadline = setTimeout(() => this.expire(out), this.o.ackTimeoutMs)
      if (!open || !this.transmit(out)) this.waiting.push(out)
    })
  }

  /** The connection is open and welcomed: send what waits, in order. */
  flush(): void {
    while (this.waiting.length > 0) {
      const out = this.waiting.shift() as Outgoing
      if (!this.transmit(out)) {
        // The connection went away meanwhile (a listener closed the client, say): keep it for the next one.
        this.waiting.unshift(out)
        return
      }
    }
  }

  /** An `ack` for `id` (`duplicate`: the server had it already); false if it was not one of ours in flight. */
  acked(id: string, seq: number, duplicate = false): boolean {
    const out = this.inflight.get(id)
    if (out === undefined) return false
    if (duplicate) this.repeats++
    this.settle(out, seq)
    return true
  }

  /** An `error` frame for `id`; false if it was not one of ours in flight. */
  refused(id: string, code: ErrorCode | 'outcome_unknown', message: string): boolean {
    const out = this.inflight.get(id)
    if (out === undefined) return false
    this.inflight.delete(id)
    if (code === 'outcome_unknown') {
      out.doubt = 'outcome_unknown'
      this.resendLater(out)
    } else if (code === 'unavailable') {
      // Not published, and the backend may be back soon; the id makes a later try safe whatever happens meanwhile.
      out.refusal = { code, message }
      this.resendLater(out)
    } else if (out.doubt !== undefined && (Errors as Record<string, { retry: string } | undefined>)[code]?.retry === 'reconnect') {
      // A resend refused for now (`rate_limited`): the first attempt may still have gone through.
      this.resendLater(out)
    } else {
      const note = out.doubt === undefined ? '' : ' (refused on a resend: the first attempt may or may not have been published)'
      this.settle(out, this.o.fail(code, message + note))
    }
    return true
  }

  /** The connection dropped (`why`): what was sent and not answered may have been published, and is resent after the next welcome. */
  lost(why: string): void {
    const back = [...this.inflight.values(), ...this.later]
    this.inflight.clear()
    this.later.clear()
    back.sort((a, b) => a.n - b.n)
    const resend: Outgoing[] = []
    for (const out of back) {
      clearTimeout(out.retry)
      out.retry = undefined
      out.doubt ??= 'connection_lost'
      out.attempts = 0
      if (this.resendable(out)) resend.push(out)
      else this.giveUp(out, `connection lost (${why}) before the ack`)
    }
    this.waiting = [...resend, ...this.waiting]
  }

  /** Reject everything: with `error` (the server closed for good), else with `closed` (the client was closed). */
  close(error?: Error): void {
    const all = [...this.waiting, ...this.inflight.values(), ...this.later]
    this.waiting = []
    for (const out of all) {
      const sent = out.firstSent === 0 ? 'before it was sent' : 'before the ack; it may or may not have been published'
      this.settle(out, error ?? this.o.fail('closed', `the client was closed ${sent}`))
    }
  }

  // ---- internals ----

  /** Send on the open connection; false if there is none. A doubtful publish past its window is rejected instead. */
  private transmit(out: Outgoing): boolean {
    if (out.done) return true
    if (out.doubt !== undefined && !this.resendable(out)) {
      this.giveUp(out, 'no ack')
      return true
    }
    if (!this.o.send(out.frame)) return false
    if (out.firstSent === 0) out.firstSent = Date.now()
    else this.resent++
    this.inflight.set(out.id, out)
    return true
  }

  /** Resend after a backoff, on this connection or (if it drops meanwhile) after the next welcome. */
  private resendLater(out: Outgoing): void {
    if (!this.resendable(out)) return this.giveUp(out, 'no ack')
    this.later.add(out)
    out.retry = setTimeout(
      () => {
        out.retry = undefined
        if (!this.later.delete(out)) return
        if (!this.transmit(out)) this.waiting.unshift(out)
      },
      backoffDelay(out.attempts++, this.o.backoff),
    )
  }

  /** Whether sending it again is safe: it never may have been published, or a resend would still be recognised as a repeat. */
  private resendable(out: Outgoing): boolean {
    return out.doubt === undefined || Date.now() - out.firstSent < this.o.dedupeWindowMs * WINDOW_SHARE
  }

  /** The window has passed with the outcome still open: reject with the doubt's code. */
  private giveUp(out: Outgoing, what: string): void {
    const code = out.doubt ?? 'connection_lost'
    this.settle(out, this.o.fail(code, `${what}, and the dedupe window has passed: it may or may not have been published`))
  }

  private expire(out: Outgoing): void {
    const i = this.waiting.indexOf(out)
    if (i >= 0) this.waiting.splice(i, 1)
    if (out.firstSent === 0) this.settle(out, this.o.fail('timeout', `not sent within ${this.o.ackTimeoutMs} ms: no connection`))
    else if (out.doubt === undefined && out.refusal !== undefined && !this.inflight.has(out.id)) {
      // Every answer said "not published": so it is, and the deadline ends the trying. (A try still in
      // flight, sent and not answered, may have been published: that is the `timeout` below.)
      this.settle(out, this.o.fail(out.refusal.code, `${out.refusal.message} (still, after ${this.o.ackTimeoutMs} ms of trying)`))
    } else this.settle(out, this.o.fail('timeout', `no ack within ${this.o.ackTimeoutMs} ms; it may or may not have been published`))
  }

  private settle(out: Outgoing, result: number | Error): void {
    if (out.done) return
    out.done = true
    clearTimeout(out.deadline)
    clearTimeout(out.retry)
    this.inflight.delete(out.id)
    this.later.delete(out)
    if (typeof result === 'number') out.resolve(result)
    else out.reject(result)
  }
}
