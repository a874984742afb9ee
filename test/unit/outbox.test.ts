/** The client's outbox with a fake connection and fake timers: what is resent, when, and how each publish settles exactly once. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { OutboxCode } from '../../src/client/outbox.ts'
import { Outbox } from '../../src/client/outbox.ts'

class Coded extends Error {
  constructor(
    readonly code: OutboxCode,
    message: string,
  ) {
    super(message)
  }
}

/** An outbox over a connection that records what it sent while `open`. */
function setup(over: { dedupeWindowMs?: number; ackTimeoutMs?: number; maxQueue?: number } = {}) {
  const conn = { open: true, sent: [] as { id: string; data: unknown }[] }
  const box = new Outbox({
    ackTimeoutMs: over.ackTimeoutMs ?? 60_000,
    maxQueue: over.maxQueue ?? 10,
    dedupeWindowMs: over.dedupeWindowMs ?? 10_000,
    backoff: { initialDelayMs: 100, maxDelayMs: 400 },
    idPrefix: 'k.',
    send: (frame) => {
      if (!conn.open) return false
      const f = JSON.parse(frame) as { id: string; data: unknown }
      conn.sent.push({ id: f.id, data: f.data })
      return true
    },
    fail: (code, message) => new Coded(code, message),
  })
  /** How a publish settled: its seq or its code (undefined while open). */
  const track = (p: Promise<number>) => {
    const r: { seq?: number; code?: string; times: number } = { times: 0 }
    p.then(
      (seq) => {
        r.seq = seq
        r.times++
      },
      (err: Coded) => {
        r.code = err.code
        r.times++
      },
    )
    return r
  }
  return { conn, box, track }
}

const flush = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve()
}

describe('Outbox', () => {
  beforeEach(() => void vi.useFakeTimers())
  afterEach(() => void vi.useRealTimers())

  it('gives every publish an id under the client prefix and resolves it with its ack', async () => {
    const { box, conn, track } = setup()
    const a = track(box.publish('a', true))
    const b = track(box.publish('b', true))
    expect(conn.sent.map((s) => s.id)).toEqual(['k.1', 'k.2'])
    box.acked('k.2', 8)
    box.acked('k.1', 7)
    await flush()
    expect([a, b]).toEqual([
      { seq: 7, times: 1 },
      { seq: 8, times: 1 },
    ])
  })

  it('resends what was in flight when the connection dropped, with the same id, before what was queued since', async () => {
    const { box, conn, track } = setup()
    const a = track(box.publish('a', true))
    conn.open = false
    box.lost('1006')
    const b = track(box.publish('b', false))
    expect(box.queued).toBe(2)
    conn.open = true
    box.flush()
    expect(conn.sent.map((s) => [s.id, s.data])).toEqual([
      ['k.1', 'a'],
      ['k.1', 'a'],
      ['k.2', 'b'],
    ])
    box.acked('k.1', 3)
    box.acked('k.2', 4)
    await flush()
    expect([a.seq, b.seq]).toEqual([3, 4])
  })

  it('on outcome_unknown resends after a backoff on the same connection, and settles once with the ack', async () => {
    const { box, conn, track } = setup()
    const a = track(box.publish('a', true))
    box.refused('k.1', 'outcome_unknown', 'sent, outcome unknown')
    vi.advanceTimersByTime(49)
    expect(conn.sent.length).toBe(1)
    vi.advanceTimersByTime(100)
    expect(conn.sent.map((s) => s.id)).toEqual(['k.1', 'k.1'])
    // The resend meets a backend still down: the first attempt may have gone through, so it tries again.
    box.refused('k.1', 'unavailable', 'try again')
    vi.advanceTimersByTime(400)
    expect(conn.sent.length).toBe(3)
    box.acked('k.1', 12)
    box.acked('k.1', 12)
    await flush()
    expect(a).toEqual({ seq: 12, times: 1 })
  })

  it('rejects a first attempt with the terminal code it got (nothing was published), without resending', async () => {
    const { box, conn, track } = setup()
    const a = track(box.publish('a', true))
    box.refused('k.1', 'forbidden', 'this connection may not publish')
    vi.advanceTimersByTime(5000)
    await flush()
    expect(a).toEqual({ code: 'forbidden', times: 1 })
    expect(conn.sent.length).toBe(1)
  })

  it('tries a publish refused as unavailable again after a backoff, and resolves once the backend is back', async () => {
    const { box, conn, track } = setup()
    const a = track(box.publish('a', true))
    box.refused('k.1', 'unavailable', 'the room is unavailable right now')
    vi.advanceTimersByTime(100)
    expect(conn.sent.map((s) => s.id)).toEqual(['k.1', 'k.1'])
    box.acked('k.1', 5)
    await flush()
    expect(a).toEqual({ seq: 5, times: 1 })
  })

  it('rejects with unavailable when every try until the deadline was refused as unavailable: certainly not published', async () => {
    // Backoff without jitter, so no try is still unanswered at the deadline (that one would be `timeout`, below).
    vi.spyOn(Math, 'random').mockReturnValue(0.5)
    const { box, conn, track } = setup({ ackTimeoutMs: 2000 })
    const a = track(box.publish('a', true))
    for (let t = 0; t < 2000 && a.times === 0; t += 1) {
      const last = conn.sent.at(-1)
      if (last !== undefined && conn.sent.length > 0) box.refused(last.id, 'unavailable', 'the room is unavailable right now')
      vi.advanceTimersByTime(1)
      await flush()
    }
    vi.restoreAllMocks()
    expect(a).toEqual({ code: 'unavailable', times: 1 })
    expect(conn.sent.length).toBeGreaterThan(2)
  })

  // Found by the cluster chaos run: a resend after `unavailable` was published, its ack never came, and the
  // publish rejected with `unavailable` ("certainly not published") at the deadline.
  it('rejects with timeout, not unavailable, when the last try was sent and never answered: it may have been published', async () => {
    const { box, conn, track } = setup({ ackTimeoutMs: 2000 })
    const a = track(box.publish('a', true))
    box.refused('k.1', 'unavailable', 'the room is unavailable right now')
    vi.advanceTimersByTime(500)
    expect(conn.sent.map((s) => s.id)).toEqual(['k.1', 'k.1'])
    vi.advanceTimersByTime(1500)
    await flush()
    expect(a).toEqual({ code: 'timeout', times: 1 })
  })

  it('rejects with connection_lost only once the dedupe window has passed without an ack', async () => {
    const { box, conn, track } = setup({ dedupeWindowMs: 1000 })
    const young = track(box.publish('young', true))
    vi.advanceTimersByTime(950)
    const fresh = track(box.publish('fresh', true))
    conn.open = false
    box.lost('1006: gone')
    await flush()
    // 950 ms is past nine tenths of the window: a resend might no longer be recognised.
    expect(young).toEqual({ code: 'connection_lost', times: 1 })
    expect(fresh.times).toBe(0)
    vi.advanceTimersByTime(900)
    conn.open = true
    box.flush()
    await flush()
    expect(fresh).toEqual({ code: 'connection_lost', times: 1 })
    expect(conn.sent.map((s) => s.id)).toEqual(['k.1', 'k.2'])
  })

  it('gives up an outcome_unknown publish with outcome_unknown past the window', async () => {
    const { box, track } = setup({ dedupeWindowMs: 1000 })
    const a = track(box.publish('a', true))
    vi.advanceTimersByTime(950)
    box.refused('k.1', 'outcome_unknown', 'sent, outcome unknown')
    await flush()
    expect(a).toEqual({ code: 'outcome_unknown', times: 1 })
  })

  it('times out: a queued publish never sent says so; a sent one may or may not have been published', async () => {
    const { box, conn, track } = setup({ ackTimeoutMs: 500 })
    conn.open = false
    const queued = box.publish('q', false)
    const sentOne = setup({ ackTimeoutMs: 500 })
    const sent = sentOne.box.publish('s', true)
    const q = track(queued)
    const s = track(sent)
    vi.advanceTimersByTime(500)
    await flush()
    expect([q, s]).toEqual([
      { code: 'timeout', times: 1 },
      { code: 'timeout', times: 1 },
    ])
    await expect(queued).rejects.toThrow(/not sent/)
    await expect(sent).rejects.toThrow(/may or may not/)
    expect(box.queued).toBe(0)
  })

  it('refuses past maxQueue while disconnected, and close() rejects everything with closed', async () => {
    const { box, track } = setup({ maxQueue: 1 })
    const first = track(box.publish('a', false))
    const over = track(box.publish('b', false))
    await flush()
    expect(over).toEqual({ code: 'queue_full', times: 1 })
    box.close()
    await flush()
    expect(first).toEqual({ code: 'closed', times: 1 })
  })

  it('refuses undefined and what JSON cannot carry with bad_data', async () => {
    const { box, conn, track } = setup()
    const u = track(box.publish(undefined, true))
    const big = track(box.publish({ n: 1n }, true))
    await flush()
    expect([u.code, big.code]).toEqual(['bad_data', 'bad_data'])
    expect(conn.sent).toEqual([])
  })
})
