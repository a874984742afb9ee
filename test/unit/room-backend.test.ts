/** The Room's side of a log that spans instances: join point, lost place, backend down. */
import { describe, expect, it } from 'vitest'
import type { Appended, Draft, Head, Replay, RoomLog, RoomSink } from '../../src/index.ts'
import { Room, Unavailable } from '../../src/index.ts'
import { FakeClock, FakeConnection, config, flush } from './fakes.ts'

/** A log whose answers the test scripts, as a Redis log's would arrive. */
class ScriptedLog implements RoomLog {
  sink!: RoomSink
  headSeq = 7
  joinSeq = 5
  down = false
  head(): Promise<Head> {
    return this.down ? Promise.reject(new Unavailable('down')) : Promise.resolve({ seq: this.headSeq, epoch: 'e' })
  }
  joinPoint(): Promise<Head> {
    return this.down ? Promise.reject(new Unavailable('down')) : Promise.resolve({ seq: this.joinSeq, epoch: 'e' })
  }
  ready(): Promise<void> {
    return this.down ? Promise.reject(new Unavailable('down')) : Promise.resolve()
  }
  append(_d: Draft): Promise<number> {
    return this.down ? Promise.reject(new Unavailable('down')) : Promise.resolve(++this.headSeq)
  }
  appendOnce(d: Draft): Promise<Appended> {
    return this.append(d).then((seq) => ({ seq, duplicate: false, mismatch: false }))
  }
  replay(): Promise<Replay> {
    return this.head().then((h) => ({ ...h, entries: [], complete: true }))
  }
  members(local: number): number {
    return local + 10
  }
  close(): void {}
}

function setup() {
  const log = new ScriptedLog()
  const cfg = config({ presenceIntervalMs: 50 })
  const room = new Room('r', {
    config: cfg,
    clock: new FakeClock(),
    logs: (_name, sink) => {
      log.sink = sink
      return log
    },
  })
  const join = () => {
    const conn = new FakeConnection()
    room.join(conn, { mode: 'json' })
    return conn
  }
  return { log, room, join }
}

describe('Room over a log that spans instances', () => {
  it('welcomes at the join point, so entries still in flight to this instance reach the new member', async () => {
    const { log, join } = setup()
    const conn = join()
    log.sink.deliver({ seq: 6, kind: 'text', body: 'in flight', ts: 1 })
    await flush()
    expect(conn.ofType('welcome')[0]).toMatchObject({ seq: 5 })
    expect(conn.ofType('message').map((f) => f.seq)).toEqual([6])
  })

  it('counts members on every instance in presence', async () => {
    const { join } = setup()
    const conn = join()
    await flush()
    expect(conn.ofType('presence')[0]).toMatchObject({ connections: 11 })
  })

  it('closes every member with 1012 resync when the log lost its place', async () => {
    const { log, join } = setup()
    const a = join()
    const b = join()
    await flush()
    log.sink.lost()
    for (const c of [a, b]) {
      expect(c.closedWith?.code).toBe(1012)
      expect(c.closedWith?.reason).toMatch(/^resync: /)
    }
  })

  it('closes a member whose welcome cannot be read with 1013 backend_down, and refuses publishes with unavailable', async () => {
    const { log, join, room } = setup()
    const ok = join()
    await flush()
    log.down = true
    const late = join()
    await flush()
    expect(late.closedWith?.code).toBe(1013)
    expect(late.closedWith?.reason).toMatch(/^backend_down: /)
    await expect(room.ready()).rejects.toBeInstanceOf(Unavailable)
    const member = [...(room as any).members][0]
    room.receive(member, JSON.stringify({ type: 'publish', data: 'x', id: 'p1' }))
    await flush()
    expect(ok.ofType('error')).toEqual([{ type: 'error', code: 'unavailable', message: expect.any(String), id: 'p1' }])
    expect(ok.closedWith).toBeNull()
  })
})
