import { describe, expect, it } from 'vitest'
import { Room, memoryLogs } from '../../src/index.ts'
import type { Config, JoinRequest } from '../../src/index.ts'
import { present } from '../support/present.ts'
import { FakeClock, FakeConnection, config, flush } from './fakes.ts'

function setup(overrides: Partial<Config> = {}) {
  const clock = new FakeClock()
  const cfg = config({ presenceIntervalMs: 50, ...overrides })
  const errors: unknown[] = []
  const room = new Room('r', { config: cfg, logs: memoryLogs(cfg), clock, onError: (e) => errors.push(e) })
  const join = (req: Partial<JoinRequest> = {}) => {
    const conn = new FakeConnection()
    const member = room.join(conn, { mode: 'raw', ...req })
    return { conn, member: present(member, 'a member') }
  }
  return { clock, room, join, errors, cfg }
}

describe('Room fan-out', () => {
  it('sends raw text to every raw member, the sender included, byte for byte', async () => {
    const { join, room } = setup()
    const a = join()
    const b = join()
    await flush()
    room.receive(a.member, 'héllo 👋')
    expect(a.conn.sent).toEqual(['héllo 👋'])
    expect(b.conn.sent).toEqual(['héllo 👋'])
  })

  it('encodes a broadcast once per mode: every json member gets the same string object', async () => {
    const { join, room } = setup()
    const pub = join({ mode: 'json' })
    const members = [join({ mode: 'json' }), join({ mode: 'json' }), join({ mode: 'json' })]
    await flush()
    for (const m of [pub, ...members]) m.conn.sent = []
    room.receive(pub.member, '{"type":"publish","data":{"k":1}}')
    const strings = members.map((m) => m.conn.sent[0])
    expect(strings[0]).toBe(strings[1])
    expect(strings[1]).toBe(strings[2])
    expect(JSON.parse(strings[0] as string)).toMatchObject({ type: 'message', room: 'r', seq: 1, data: { k: 1 } })
    expect(pub.conn.sent).toEqual([])
  })

  it('acks a publish with an id, after which seq numbers keep counting', async () => {
    const { join, room } = setup()
    const a = join({ mode: 'json' })
    await flush()
    room.receive(a.member, '{"type":"publish","data":1,"id":"x"}')
    room.receive(a.member, '{"type":"publish","data":2,"id":"y"}')
    await flush()
    expect(a.conn.ofType('ack')).toEqual([
      { type: 'ack', id: 'x', seq: 1 },
      { type: 'ack', id: 'y', seq: 2 },
    ])
  })

  it('sends the welcome before any message, even one published while the welcome is prepared', async () => {
    const { join, room } = setup()
    const raw = join()
    await flush()
    const j = join({ mode: 'json' })
    room.receive(raw.member, 'early')
    expect(j.conn.sent).toEqual([])
    await flush()
    const types = j.conn.frames().map((f) => f.type)
    expect(types.slice(0, 2)).toEqual(['welcome', 'message'])
    expect(j.conn.frames()[0]).toMatchObject({ seq: 0 })
    expect(j.conn.frames()[1]).toMatchObject({ seq: 1, data: 'early' })
  })

  it('replays history after since, then live messages, without duplicates', async () => {
    const { join, room } = setup()
    const p = join()
    await flush()
    for (const t of ['a', 'b', 'c']) room.receive(p.member, t)
    const epoch = (await (room as any).log.head()).epoch
    const j = join({ mode: 'json', since: 1, epoch })
    room.receive(p.member, 'd')
    await flush()
    const frames = j.conn.frames()
    expect(frames[0]).toMatchObject({ type: 'welcome', seq: 3, resumed: { since: 1, complete: true } })
    expect(frames.filter((f) => f.type === 'message').map((f) => [f.seq, f.data])).toEqual([
      [2, 'b'],
      [3, 'c'],
      [4, 'd'],
    ])
  })

  it('relays binary to raw members as bytes and to json members as base64', async () => {
    const { join, room } = setup()
    const raw = join()
    const json = join({ mode: 'json' })
    await flush()
    room.receive(raw.member, new Uint8Array([1, 2, 255]))
    expect(raw.conn.sent[0]).toEqual(new Uint8Array([1, 2, 255]))
    expect(json.conn.ofType('message')[0]).toMatchObject({ binary: true, data: 'AQL/' })
  })
})

describe('Room limits', () => {
  it('closes with 1009 for a frame over maxFrameBytes, counting UTF-8 bytes', async () => {
    const { join, room } = setup({ maxFrameBytes: 10 })
    const a = join()
    const b = join()
    await flush()
    room.receive(a.member, 'ééééé')
    expect(a.conn.closedWith).toBeNull()
    room.receive(a.member, 'éééééé')
    expect(a.conn.closedWith?.code).toBe(1009)
    expect(a.conn.closedWith?.reason).toMatch(/^too_large: /)
    expect(b.conn.sent).toEqual(['ééééé'])
    expect(room.size).toBe(1)
  })

  it('closes a json member that sends binary with 1003', async () => {
    const { join, room } = setup()
    const a = join({ mode: 'json' })
    await flush()
    room.receive(a.member, new Uint8Array([1]))
    expect(a.conn.closedWith?.code).toBe(1003)
  })

  it('takes what the runtime hands over: an ArrayBuffer or a view as bytes, and closes on anything else with 1003 unsupported_payload', async () => {
    const { join, room } = setup()
    const a = join()
    const b = join()
    await flush()
    room.receive(a.member, new Uint8Array([7, 1, 2, 7]).subarray(1, 3))
    room.receive(a.member, new Uint8Array([3]).buffer)
    expect(b.conn.sent).toEqual([new Uint8Array([1, 2]), new Uint8Array([3])])
    room.receive(a.member, new Blob(['x']))
    expect(a.conn.closedWith).toEqual({ code: 1003, reason: 'unsupported_payload: unsupported message payload' })
    expect(room.size).toBe(1)
  })

  it('drops publishes past the burst with rate_limited, refills with time, closes a sustained flood with 1008', async () => {
    const { join, room, clock } = setup({ rateLimit: 10, rateBurst: 5, floodStrikes: 8 })
    const a = join({ mode: 'json' })
    await flush()
    for (let i = 0; i < 7; i++) room.receive(a.member, `{"type":"publish","data":${i},"id":"${i}"}`)
    await flush()
    expect(a.conn.ofType('ack').length).toBe(5)
    expect(a.conn.ofType('error').map((e) => [e.code, e.id])).toEqual([
      ['rate_limited', '5'],
      ['rate_limited', '6'],
    ])
    clock.advance(200) // two tokens at 10/s
    for (let i = 0; i < 3; i++) room.receive(a.member, '{"type":"publish","data":0}')
    await flush()
    expect(a.conn.ofType('error').length).toBe(3)
    expect(a.conn.closedWith).toBeNull()
    for (let i = 0; i < 6; i++) room.receive(a.member, '{"type":"publish","data":0}')
    expect(a.conn.closedWith).toMatchObject({ code: 1008 })
    expect(a.conn.closedWith?.reason).toMatch(/^flooding: /)
  })

  it('answers each bad frame with an error, and closes with 1008 past the budget; the budget renews each minute', async () => {
    const { join, room, clock } = setup({ badFrameBudget: 3 })
    const a = join({ mode: 'json' })
    await flush()
    for (let i = 0; i < 3; i++) room.receive(a.member, 'nope')
    clock.advance(60_000)
    for (let i = 0; i < 3; i++) room.receive(a.member, 'nope')
    expect(a.conn.ofType('error').length).toBe(6)
    expect(a.conn.closedWith).toBeNull()
    room.receive(a.member, 'nope')
    expect(a.conn.closedWith).toMatchObject({ code: 1008 })
    expect(a.conn.ofType('error').length).toBe(6)
  })

  it('closes a slow consumer with 1013 and keeps serving the others', async () => {
    const { join, room } = setup({ maxBufferedBytes: 100 })
    const slow = join()
    const fast = join()
    await flush()
    slow.conn.buffered = 101
    room.receive(fast.member, 'one')
    expect(slow.conn.closedWith?.code).toBe(1013)
    room.receive(fast.member, 'two')
    expect(fast.conn.sent).toEqual(['one', 'two'])
    expect(slow.conn.sent).toEqual(['one'])
  })

  it('closes only the member whose send throws (1011); the broadcast goes on', async () => {
    const { join, room, errors } = setup()
    const a = join()
    const broken = join()
    const c = join()
    await flush()
    broken.conn.throwOnSend = true
    room.receive(a.member, 'x')
    expect(broken.conn.closedWith?.code).toBe(1011)
    expect(c.conn.sent).toEqual(['x'])
    expect(errors.length).toBe(1)
  })

  it('refuses a join past maxRoomConnections with 1013', () => {
    const { room, join } = setup({ maxRoomConnections: 2 })
    join()
    join()
    const conn = new FakeConnection()
    expect(room.join(conn, { mode: 'raw' })).toBeNull()
    expect(conn.closedWith?.code).toBe(1013)
    expect(room.size).toBe(2)
  })

  it('refuses publishes from read-only members with forbidden', async () => {
    const { join, room } = setup()
    const ro = join({ mode: 'json', canPublish: false })
    const other = join()
    await flush()
    room.receive(ro.member, '{"type":"publish","data":1,"id":"a"}')
    expect(ro.conn.ofType('error')).toEqual([{ type: 'error', code: 'forbidden', message: expect.any(String), id: 'a' }])
    expect(other.conn.sent).toEqual([])
  })
})

describe('Room presence and liveness', () => {
  it('coalesces presence: one frame per interval with the latest count, never the same count twice', async () => {
    const { join, clock } = setup()
    const a = join({ mode: 'json' })
    await flush()
    expect(a.conn.ofType('presence').map((p) => p.connections)).toEqual([1])
    join()
    join()
    join()
    clock.advance(50)
    expect(a.conn.ofType('presence').map((p) => p.connections)).toEqual([1, 4])
    clock.advance(500)
    expect(a.conn.ofType('presence').length).toBe(2)
  })

  it('pings live members and closes those silent past idleTimeoutMs with 1001', async () => {
    const { join, room, clock } = setup({ idleTimeoutMs: 1000 })
    const a = join()
    const b = join()
    await flush()
    clock.advance(600)
    room.sweep()
    expect([a.conn.pings, b.conn.pings]).toEqual([1, 1])
    room.touch(a.member)
    clock.advance(600)
    room.sweep()
    expect(a.conn.closedWith).toBeNull()
    expect(b.conn.closedWith).toMatchObject({ code: 1001 })
    expect(b.conn.closedWith?.reason).toMatch(/^idle_timeout/)
    expect(room.size).toBe(1)
  })

  it('terminates a member dropped for silence right after its close frame, and no member closed for another reason', async () => {
    const { join, room, clock } = setup({ idleTimeoutMs: 1000 })
    const silent = join()
    const live = join()
    await flush()
    clock.advance(1100)
    room.touch(live.member)
    room.sweep()
    expect(silent.conn.terminated).toEqual({ afterClose: true })
    room.closeAll()
    expect(live.conn.closedWith?.code).toBe(1001)
    expect(live.conn.terminated).toBeNull()
  })

  it('closes a member whose credentials expired with 4001', async () => {
    const { join, room, clock } = setup()
    const a = join({ exp: clock.now() + 100 })
    await flush()
    room.sweep()
    expect(a.conn.closedWith).toBeNull()
    clock.advance(100)
    room.sweep()
    expect(a.conn.closedWith?.code).toBe(4001)
  })

  it('ignores frames and leaves from members it already closed', async () => {
    const { join, room } = setup({ maxFrameBytes: 1 })
    const a = join()
    const b = join()
    await flush()
    room.receive(a.member, 'xx')
    room.receive(a.member, 'y')
    room.leave(a.member)
    expect(b.conn.sent).toEqual([])
    expect(room.size).toBe(1)
  })
})
