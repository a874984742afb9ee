/** The Room's side of idempotent publish: whose an id is, what a repeat gets, and that a publish without an id looks nothing up. */
import { describe, expect, it } from 'vitest'
import type { Draft, JoinRequest, LogFactory, Once } from '../../src/index.ts'
import { MemoryLog, Room } from '../../src/index.ts'
import { present } from '../support/present.ts'
import { FakeClock, FakeConnection, config, flush } from './fakes.ts'

/** A memory log that counts how it was asked to append. */
function countingLogs(cfg: ReturnType<typeof config>) {
  const calls = { append: 0, appendOnce: 0 }
  const logs: LogFactory = (_room, sink) => {
    const log = new MemoryLog(sink, cfg)
    const append = log.append.bind(log)
    const appendOnce = log.appendOnce.bind(log)
    log.append = (d: Draft) => {
      calls.append++
      return append(d)
    }
    log.appendOnce = (d: Draft, o: Once) => {
      calls.appendOnce++
      return appendOnce(d, o)
    }
    return log
  }
  return { logs, calls }
}

function setup(overrides: Parameters<typeof config>[0] = {}) {
  const clock = new FakeClock()
  const cfg = config({ presenceIntervalMs: 50, dedupeWindowMs: 1000, ...overrides })
  const { logs, calls } = countingLogs(cfg)
  const room = new Room('r', { config: cfg, logs, clock })
  const join = (req: Partial<JoinRequest> = {}) => {
    const conn = new FakeConnection()
    const member = present(room.join(conn, { mode: 'json', ...req }), 'a member')
    return { conn, member }
  }
  const publish = (m: ReturnType<typeof join>, data: unknown, id?: string) =>
    room.receive(m.member, JSON.stringify(id === undefined ? { type: 'publish', data } : { type: 'publish', data, id }))
  return { clock, room, join, publish, calls }
}

describe('Room: idempotent publish', () => {
  it('acks a repeated id with the first seq and duplicate:true; the others receive it once', async () => {
    const { join, publish } = setup()
    const a = join()
    const b = join()
    await flush()
    publish(a, 'hello', 'x')
    publish(a, 'hello', 'x')
    // A new entry's ack comes with its delivery, a repeat's once the log has answered.
    await flush()
    publish(a, 'next', 'y')
    await flush()
    expect(a.conn.ofType('ack')).toEqual([
      { type: 'ack', id: 'x', seq: 1 },
      { type: 'ack', id: 'x', seq: 1, duplicate: true },
      { type: 'ack', id: 'y', seq: 2 },
    ])
    expect(b.conn.ofType('message').map((m) => [m.seq, m.data])).toEqual([
      [1, 'hello'],
      [2, 'next'],
    ])
  })

  it('never lets one publisher suppress another: the same id from another connection is a new entry', async () => {
    const { join, publish } = setup()
    const a = join()
    const b = join()
    const listener = join()
    await flush()
    publish(a, 'from a', 'same')
    publish(b, 'from b', 'same')
    await flush()
    expect(a.conn.ofType('ack')).toEqual([{ type: 'ack', id: 'same', seq: 1 }])
    expect(b.conn.ofType('ack')).toEqual([{ type: 'ack', id: 'same', seq: 2 }])
    expect(listener.conn.ofType('message').map((m) => m.data)).toEqual(['from a', 'from b'])
  })

  it('deduplicates under the ?client= key across connections (a reconnect), and only there', async () => {
    const { join, publish } = setup()
    const first = join({ client: 'key-1' })
    const listener = join()
    await flush()
    publish(first, 'm', 'p1')
    await flush()
    first.conn.sent = []
    const again = join({ client: 'key-1' })
    const stranger = join({ client: 'key-2' })
    await flush()
    publish(again, 'm', 'p1')
    publish(stranger, 'm', 'p1')
    await flush()
    expect(again.conn.ofType('ack')).toEqual([{ type: 'ack', id: 'p1', seq: 1, duplicate: true }])
    expect(stranger.conn.ofType('ack')).toEqual([{ type: 'ack', id: 'p1', seq: 2 }])
    expect(listener.conn.ofType('message').map((m) => m.seq)).toEqual([1, 2])
  })

  it("takes a token's sub over the client key: one sub is one publisher, whatever key each connection gives", async () => {
    const { join, publish } = setup()
    const tab1 = join({ from: 'alice', client: 'tab-1' })
    const tab2 = join({ from: 'alice', client: 'tab-2' })
    const bob = join({ from: 'bob', client: 'tab-1' })
    await flush()
    publish(tab1, 'a', 'id-1')
    publish(tab2, 'a', 'id-1')
    publish(bob, 'b', 'id-1')
    await flush()
    expect(tab2.conn.ofType('ack')).toEqual([{ type: 'ack', id: 'id-1', seq: 1, duplicate: true }])
    expect(bob.conn.ofType('ack')).toEqual([{ type: 'ack', id: 'id-1', seq: 2 }])
  })

  it('forgets an id after DEDUPE_WINDOW_MS: the same id is then a new publish', async () => {
    const { join, publish, clock } = setup({ dedupeWindowMs: 1000 })
    const a = join()
    await flush()
    publish(a, 'm', 'x')
    clock.advance(999)
    publish(a, 'm', 'x')
    await flush()
    clock.advance(1)
    publish(a, 'm', 'x')
    await flush()
    expect(a.conn.ofType('ack').map((f) => [f.seq, f.duplicate ?? false])).toEqual([
      [1, false],
      [1, true],
      [2, false],
    ])
  })

  it('looks nothing up for a publish without an id, and once per publish (not per recipient) for one with', async () => {
    const { join, publish, calls } = setup()
    const a = join()
    for (let i = 0; i < 5; i++) join()
    await flush()
    publish(a, 'no id')
    publish(a, 'no id either')
    expect(calls).toEqual({ append: 2, appendOnce: 0 })
    publish(a, 'with id', 'i')
    expect(calls).toEqual({ append: 2, appendOnce: 1 })
  })

  it('HTTP: publish with a key once, a repeat gets the first seq, another hash is a mismatch', async () => {
    const { room, join } = setup()
    const listener = join()
    await flush()
    expect(await room.publishOnce('text', 'hi', { key: 'k', hash: 'h' })).toEqual({ seq: 1, duplicate: false, mismatch: false })
    expect(await room.publishOnce('text', 'hi', { key: 'k', hash: 'h' })).toEqual({ seq: 1, duplicate: true, mismatch: false })
    expect(await room.publishOnce('text', 'other', { key: 'k', hash: 'h2' })).toEqual({ seq: 1, duplicate: true, mismatch: true })
    expect(await room.publish('text', 'no key')).toBe(2)
    expect(listener.conn.ofType('message').map((m) => m.data)).toEqual(['hi', 'no key'])
  })
})
