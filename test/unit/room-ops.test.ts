/** What a room counts and logs: exact counts per broadcast (never per recipient), closes, refusals, publishes, and who each line is about. */
import { describe, expect, it } from 'vitest'
import type { Config, Connection, Fanout, JoinRequest, Level } from '../../src/index.ts'
import { Hub, LagProbe, Logger, Metrics, Ops, Room, hubApi, memoryLogs } from '../../src/index.ts'
import { present } from '../support/present.ts'
import { FakeClock, FakeConnection, config, flush } from './fakes.ts'

/** Ops whose log lines are kept as parsed JSON. */
function recordingOps(level: Level = 'debug') {
  const lines: Record<string, unknown>[] = []
  const ops = new Ops({ logFormat: 'json', logLevel: level }, new Metrics(), new Logger({ level, format: 'json', write: (l) => lines.push(JSON.parse(l)) }))
  return { ops, lines }
}

/** A runtime's topics that deliver at once, as Bun's do. */
class SendingFanout implements Fanout {
  readonly topics = new Map<string, Set<Connection>>()
  subscribe(conn: Connection, topic: string): void {
    if (!this.topics.has(topic)) this.topics.set(topic, new Set())
    this.topics.get(topic)?.add(conn)
  }
  unsubscribe(conn: Connection, topic: string): void {
    this.topics.get(topic)?.delete(conn)
  }
  publish(topic: string, data: string | Uint8Array, except?: Connection): void {
    for (const c of this.topics.get(topic) ?? []) if (c !== except) c.send(data)
  }
}

function setup(overrides: Partial<Config> = {}, fanout?: Fanout) {
  const clock = new FakeClock()
  const cfg = config({ presenceIntervalMs: 50, ...overrides })
  const { ops, lines } = recordingOps()
  const room = new Room('r', { config: cfg, logs: memoryLogs(cfg), clock, ops, ...(fanout === undefined ? {} : { fanout }) })
  const join = (req: Partial<JoinRequest> = {}) => {
    const conn = new FakeConnection()
    const member = room.join(conn, { mode: 'raw', ip: '203.0.113.7', ...req })
    return { conn, member: present(member, 'a member') }
  }
  return { clock, room, join, ops, m: ops.metrics, lines }
}

const bytes = (s: string) => new TextEncoder().encode(s).byteLength

describe.each([
  ['a loop over the members', undefined],
  ['a runtime fan-out (topics)', () => new SendingFanout()],
])('deliveries and bytes sent, by %s', (_name, makeFanout) => {
  it('adds recipients and recipients × size once per broadcast, whatever the number of members', async () => {
    const { room, join, m } = setup({}, makeFanout?.())
    const raws = [join(), join(), join()]
    const jsons = [join({ mode: 'json' }), join({ mode: 'json' })]
    await flush()
    let calls = 0
    const broadcast = m.broadcast.bind(m)
    m.broadcast = (frames, b) => {
      calls++
      broadcast(frames, b)
    }
    for (const x of [...raws, ...jsons]) x.conn.sent = []
    // From a json member: the three raw members and the other json member get it; the publisher gets an ack.
    room.receive(present(jsons[0], 'a json member').member, '{"type":"publish","data":"héllo"}')
    // From a raw member: everyone, the publisher included.
    room.receive(present(raws[0], 'a raw member').member, 'raw ✓')
    await flush()
    expect(calls).toBe(2)
    expect(m.deliveries.value).toBe(4 + 5)
    const messageBytes = [...raws, ...jsons]
      .flatMap((x) => x.conn.sent)
      .filter((d) => typeof d !== 'string' || !d.startsWith('{') || JSON.parse(d).type === 'message')
      .reduce((n, d) => n + (typeof d === 'string' ? bytes(d) : d.byteLength), 0)
    expect(m.bytesSent.value).toBe(messageBytes)
    expect(m.fanoutSeconds.count()).toBe(2)
  })
})

describe('deliveries as members come and go', () => {
  it('counts only live members: not one still being welcomed, not one that left, not one closed while catching up', async () => {
    const { room, join, m } = setup({ maxBufferedBytes: 10 })
    const a = join()
    await flush()
    const b = join() // its welcome is still being prepared: this broadcast is queued for it
    room.receive(a.member, 'one')
    expect(m.deliveries.value).toBe(1)
    await flush()
    expect(b.conn.sent).toEqual(['one'])
    room.receive(a.member, 'two')
    expect(m.deliveries.value).toBe(3)
    room.leave(a.member)
    room.receive(b.member, 'three')
    expect(m.deliveries.value).toBe(4)
    // A member whose catch-up overfills its buffer is closed before it goes live, and never counted.
    const slow = join()
    slow.conn.buffered = 100
    room.receive(b.member, 'four')
    await flush()
    expect(slow.conn.closedWith?.code).toBe(1013)
    room.receive(b.member, 'five')
    expect(m.deliveries.value).toBe(4 + 1 + 1)
  })
})

describe('what a room counts', () => {
  it('counts publishes by source, their latency, and the bytes members sent', async () => {
    const { room, join, m } = setup()
    const a = join({ mode: 'json' })
    const b = join()
    await flush()
    room.receive(a.member, '{"type":"publish","data":1,"id":"x"}')
    room.receive(b.member, new Uint8Array([1, 2, 3]))
    await room.publish('text', 'from http')
    await room.publish('text', 'from the server', undefined, undefined, false, 'server')
    await flush()
    expect(m.published.get('ws')).toBe(2)
    expect(m.published.get('http')).toBe(1)
    expect(m.published.get('server')).toBe(1)
    expect(m.publishSeconds.count()).toBe(4)
    expect(m.bytesReceived.value).toBe(bytes('{"type":"publish","data":1,"id":"x"}') + 3)
  })

  it("counts the application's rc.publish as server, and a v2 subscription's publish (an origin) as ws", async () => {
    const { ops } = recordingOps()
    const cfg = config()
    const hub = new Hub({ config: cfg, ops })
    await hubApi(hub).publish('r', 'from the application')
    await hub.room('r').publish('text', 'from a v2 subscription', undefined, 'sub-1')
    await hub.room('r').publish('text', 'over HTTP')
    await flush()
    expect(ops.metrics.published.get('server')).toBe(1)
    expect(ops.metrics.published.get('ws')).toBe(1)
    expect(ops.metrics.published.get('http')).toBe(1)
    hub.closeAll()
  })

  it('counts refused frames by code, kept open, and closes by code', async () => {
    const { room, join, m } = setup({ rateBurst: 1, rateLimit: 1, floodStrikes: 1, badFrameBudget: 2 })
    const reader = join({ mode: 'json', canPublish: false })
    const bad = join({ mode: 'json' })
    const flooder = join({ mode: 'json' })
    await flush()
    room.receive(reader.member, '{"type":"publish","data":1}')
    room.receive(bad.member, '{nope')
    room.receive(bad.member, '[]')
    room.receive(bad.member, '[]') // past the budget of 2: closed
    room.receive(flooder.member, '{"type":"publish","data":1}')
    room.receive(flooder.member, '{"type":"publish","data":2}') // rate limited
    room.receive(flooder.member, '{"type":"publish","data":3}') // a second strike: closed
    expect(m.framesRefused.get('forbidden')).toBe(1)
    expect(m.framesRefused.get('bad_json')).toBe(1)
    expect(m.framesRefused.get('bad_frame')).toBe(1)
    expect(m.framesRefused.get('rate_limited')).toBe(1)
    expect(m.closes.get('too_many_errors')).toBe(1)
    expect(m.closes.get('flooding')).toBe(1)
    const binary = join({ mode: 'json' })
    await flush()
    room.receive(binary.member, new Uint8Array([0]))
    expect(m.closes.get('binary_unsupported')).toBe(1)
  })

  it('counts a close the runtime made itself as the server close it stands for', async () => {
    const { room, join, m, lines } = setup()
    const a = join()
    const b = join()
    await flush()
    room.leave(a.member, 'too_large')
    room.leave(b.member)
    expect(m.closes.get('too_large')).toBe(1)
    expect(lines.filter((l) => l.msg === 'closed').map((l) => l.code)).toEqual(['too_large'])
    expect(lines.filter((l) => l.msg === 'disconnected').map((l) => l.connectionId)).toEqual([b.member.info.id])
  })
})

describe('what a room logs', () => {
  it('logs a server close with its code, close code, room, connection id, address and identity; abuse at warn', async () => {
    const { room, join, lines } = setup({ badFrameBudget: 0 })
    const a = join({ mode: 'json', from: 'alice' })
    await flush()
    room.receive(a.member, '{nope')
    expect(lines.find((l) => l.msg === 'closed')).toEqual({
      time: expect.any(String),
      level: 'warn',
      msg: 'closed',
      code: 'too_many_errors',
      close: 1008,
      room: 'r',
      connectionId: a.member.info.id,
      ip: '203.0.113.7',
      sub: 'alice',
    })
    const b = join()
    await flush()
    room.closeAll('shutting_down')
    expect(lines.filter((l) => l.msg === 'closed' && l.code === 'shutting_down')).toEqual([
      expect.objectContaining({ level: 'info', connectionId: b.member.info.id }),
    ])
  })

  it('logs connections opening and closing at debug, and keeps the address in the member info', async () => {
    const { join, room, lines } = setup()
    const a = join({ mode: 'json' })
    await flush()
    expect(a.member.info.ip).toBe('203.0.113.7')
    room.leave(a.member)
    expect(lines.filter((l) => l.level === 'debug').map((l) => [l.msg, l.connectionId, l.ip])).toEqual([
      ['connected', a.member.info.id, '203.0.113.7'],
      ['disconnected', a.member.info.id, '203.0.113.7'],
    ])
  })

  it('never logs message content', async () => {
    const { join, room, lines } = setup({ rateBurst: 1, floodStrikes: 100 })
    const a = join({ mode: 'json' })
    await flush()
    room.receive(a.member, '{"type":"publish","data":"the secret plan"}')
    room.receive(a.member, '{"type":"publish","data":"the secret plan"}')
    room.receive(a.member, '{"type":"publish","data":"the secret plan","x":')
    expect(lines.map((l) => l.msg)).toEqual(['connected', 'frame refused', 'frame refused'])
    expect(JSON.stringify(lines)).not.toContain('secret')
  })

  it('keeps an address of at most 64 characters', () => {
    const { join } = setup()
    expect(join({ ip: 'x'.repeat(200) }).member.info.ip).toHaveLength(64)
  })
})

describe('the gauges read from a Hub at scrape time', () => {
  it('reads connections by mode, rooms and history bytes from the rooms themselves', async () => {
    const { ops } = recordingOps('error')
    const hub = new Hub({ config: config(), clock: new FakeClock(), ops })
    const a = hub.room('a')
    a.join(new FakeConnection(), { mode: 'raw' })
    a.join(new FakeConnection(), { mode: 'json' })
    hub.room('b').join(new FakeConnection(), { mode: 'json' })
    await flush()
    await a.publish('text', 'héllo')
    const f = ops.metrics.families()
    const value = (name: string, labels?: Record<string, string>) =>
      f.find((x) => x.name === name)?.samples.find((s) => labels === undefined || Object.entries(labels).every(([k, v]) => s.labels?.[k] === v))?.value
    expect(value('roomcast_connections', { mode: 'raw' })).toBe(1)
    expect(value('roomcast_connections', { mode: 'json' })).toBe(2)
    expect(value('roomcast_rooms')).toBe(2)
    expect(value('roomcast_history_bytes')).toBe(bytes('héllo'))
  })
})

describe('LagProbe', () => {
  it('reports how late its timer fired while the loop was blocked', async () => {
    const probe = new LagProbe(20)
    probe.start()
    const until = performance.now() + 150
    while (performance.now() < until) {
      // Block the event loop, as a long synchronous task would.
    }
    await new Promise((r) => setTimeout(r, 60))
    probe.stop()
    // The timer due 20 ms in could not fire before the 150 ms block ended: at least 130 ms late.
    expect(probe.seconds).toBeGreaterThanOrEqual(0.13)
  })

  it('keeps the worst of the last ten probes', () => {
    const probe = new LagProbe()
    probe.record(500)
    for (let i = 0; i < 9; i++) probe.record(1)
    expect(probe.seconds).toBe(0.5)
    probe.record(2)
    expect(probe.seconds).toBe(0.002)
  })
})
