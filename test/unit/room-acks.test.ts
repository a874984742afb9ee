/** A publisher's ack comes in the delivery of its entry, so it is in seq order with every message it receives. */
import { describe, expect, it } from 'vitest'
import type { Appended, Connection, Draft, Entry, Fanout, Head, Replay, RoomLog, RoomSink } from '../../src/index.ts'
import { OutcomeUnknown, Room, Unavailable, memoryLogs } from '../../src/index.ts'
import { present } from '../support/present.ts'
import { FakeClock, FakeConnection, config, flush } from './fakes.ts'

/** The seqs a json member heard, as `ack N` and `message N`, in the order it heard them. */
const heard = (conn: FakeConnection) =>
  conn
    .frames()
    .filter((f) => f.type === 'ack' || f.type === 'message')
    .map((f) => `${f.type} ${f.seq}`)

/** Whether every ack for seq N came before any message with a seq above N. */
function acksInOrder(conn: FakeConnection): boolean {
  let highest = 0
  for (const f of conn.frames()) {
    if (f.type === 'message') highest = Math.max(highest, f.seq)
    if (f.type === 'ack' && f.seq < highest) return false
  }
  return true
}

/** A log that takes appends at once but delivers only when the test says (as a Redis log does, from pub/sub). */
class LaterLog implements RoomLog {
  sink!: RoomSink
  seq = 0
  drafts: Entry[] = []
  fail: Error | null = null
  head(): Promise<Head> {
    return Promise.resolve({ seq: this.seq, epoch: 'e' })
  }
  append(d: Draft): Promise<number> {
    const entry = { ...d, seq: ++this.seq }
    this.drafts.push(entry)
    return this.fail === null ? Promise.resolve(entry.seq) : Promise.reject(this.fail)
  }
  appendOnce(d: Draft): Promise<Appended> {
    return this.append(d).then((seq) => ({ seq, duplicate: false, mismatch: false }))
  }
  replay(): Promise<Replay> {
    return this.head().then((h) => ({ ...h, entries: [], complete: true }))
  }
  members(local: number): number {
    return local
  }
  close(): void {}
  /** Deliver the appended entries, in seq order. */
  deliverAll(): void {
    for (const e of this.drafts.splice(0)) this.sink.deliver(e)
  }
}

function memoryRoom() {
  const cfg = config({ presenceIntervalMs: 50 })
  const room = new Room('r', { config: cfg, logs: memoryLogs(cfg), clock: new FakeClock() })
  return { room, join: () => joinJson(room) }
}

function laterRoom() {
  const log = new LaterLog()
  const room = new Room('r', {
    config: config({ presenceIntervalMs: 50 }),
    clock: new FakeClock(),
    logs: (_n, sink) => {
      log.sink = sink
      return log
    },
  })
  return { room, log, join: () => joinJson(room) }
}

function joinJson(room: Room) {
  const conn = new FakeConnection()
  return { conn, member: present(room.join(conn, { mode: 'json' }), 'a member') }
}

const publish = (id: string) => JSON.stringify({ type: 'publish', data: id, id })

describe('acks', () => {
  it('come before any later message when publishers interleave within one turn (memory log)', async () => {
    const { room, join } = memoryRoom()
    const a = join()
    const b = join()
    await flush()
    // As Deno hands over frames from two sockets before the promise callbacks of the first run.
    room.receive(a.member, publish('a1'))
    room.receive(b.member, publish('b1'))
    room.receive(a.member, publish('a2'))
    room.receive(b.member, publish('b2'))
    await flush()
    expect(heard(a.conn)).toEqual(['ack 1', 'message 2', 'ack 3', 'message 4'])
    expect(heard(b.conn)).toEqual(['message 1', 'ack 2', 'message 3', 'ack 4'])
    expect(a.conn.ofType('ack')).toEqual([
      { type: 'ack', id: 'a1', seq: 1 },
      { type: 'ack', id: 'a2', seq: 3 },
    ])
  })

  it('wait for the entry’s delivery where it comes after the append resolved (a log across instances), and keep its order', async () => {
    const { room, log, join } = laterRoom()
    const a = join()
    const b = join()
    await flush()
    room.receive(a.member, publish('a1'))
    room.receive(b.member, publish('b1'))
    room.receive(a.member, publish('a2'))
    await flush()
    // The appends have resolved, but nothing was delivered: no ack yet.
    expect(heard(a.conn)).toEqual([])
    log.deliverAll()
    expect(heard(a.conn)).toEqual(['ack 1', 'message 2', 'ack 3'])
    expect(heard(b.conn)).toEqual(['message 1', 'ack 2', 'message 3'])
  })

  it('hold over many interleaved publishers', async () => {
    const { room, join } = memoryRoom()
    const members = Array.from({ length: 5 }, join)
    await flush()
    for (let i = 0; i < 40; i++) {
      const m = members[(i * 3) % members.length]
      if (m !== undefined) room.receive(m.member, publish(`p${i}`))
    }
    await flush()
    for (const m of members) expect(acksInOrder(m.conn)).toBe(true)
    expect(members.reduce((n, m) => n + m.conn.ofType('ack').length, 0)).toBe(40)
  })

  it('reach a publisher still being welcomed through its queue, after its welcome', async () => {
    const { room, log, join } = laterRoom()
    const a = join()
    // a publishes before its welcome was sent; the entry is delivered while it is still queued.
    room.receive(a.member, publish('early'))
    log.deliverAll()
    await flush()
    expect(a.conn.frames().map((f) => f.type)).toEqual(['welcome', 'ack', 'presence'])
    expect(a.conn.ofType('ack')).toEqual([{ type: 'ack', id: 'early', seq: 1 }])
  })

  it('go to a json publisher over a runtime’s topics on its own socket, before the topic publish', async () => {
    const order: string[] = []
    const fanout: Fanout = {
      subscribe: () => {},
      unsubscribe: () => {},
      publish: (_topic, data, except) => void order.push(`publish ${JSON.parse(data as string).seq} except ${except === undefined ? '-' : 'publisher'}`),
    }
    const cfg = config({ presenceIntervalMs: 50 })
    const room = new Room('r', { config: cfg, logs: memoryLogs(cfg), clock: new FakeClock(), fanout })
    const conn = new FakeConnection()
    const send = conn.send.bind(conn)
    ;(conn as Connection).send = (data) => {
      if (typeof data === 'string' && data.includes('"ack"')) order.push('ack')
      send(data)
    }
    const m = present(room.join(conn, { mode: 'json' }), 'a member')
    await flush()
    room.receive(m, publish('t1'))
    expect(order).toEqual(['ack', 'publish 1 except publisher'])
  })
})

describe('a refused publish', () => {
  it('is answered unavailable when the log certainly did not publish it', async () => {
    const { room, log, join } = laterRoom()
    const a = join()
    await flush()
    log.fail = new Unavailable('down')
    room.receive(a.member, publish('u1'))
    await flush()
    expect(a.conn.ofType('error')).toEqual([{ type: 'error', code: 'unavailable', message: expect.any(String), id: 'u1' }])
  })

  it('is answered outcome_unknown when the log was asked and did not confirm; if it was published after all, its ack follows', async () => {
    const { room, log, join } = laterRoom()
    const a = join()
    const b = join()
    await flush()
    log.fail = new OutcomeUnknown('timed out')
    room.receive(a.member, publish('k1'))
    await flush()
    expect(a.conn.ofType('error')).toEqual([{ type: 'error', code: 'outcome_unknown', message: expect.stringMatching(/not confirmed/), id: 'k1' }])
    // The backend ran it later: every member gets it, and the publisher hears that it went through.
    log.deliverAll()
    expect(a.conn.ofType('ack')).toEqual([{ type: 'ack', id: 'k1', seq: 1 }])
    expect(b.conn.ofType('message').map((f) => f.data)).toEqual(['k1'])
  })
})
