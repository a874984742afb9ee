import { describe, expect, it } from 'vitest'
import { areaPath, chartPoints, linePath, niceMax } from '../../src/client/chart.ts'
import {
  EVICT_AFTER_MS,
  Hub,
  RoomCost,
  TrafficSampler,
  codeCountsFrom,
  countAutoResponses,
  decodeCursor,
  encodeCursor,
  hubAdmin,
  readDisconnect,
} from '../../src/index.ts'
import { present } from '../support/present.ts'
import { FakeClock, FakeConnection, config, flush } from './fakes.ts'

describe('the room cursor', () => {
  it('round-trips every room name and is opaque (not the name itself)', () => {
    for (const room of ['a', 'lobby', 'A-Z_a.z-09', 'x'.repeat(64)]) {
      const c = encodeCursor(room)
      expect(c).not.toContain(room)
      expect(c).toMatch(/^[A-Za-z0-9_-]+$/)
      expect(decodeCursor(c)).toBe(room)
    }
  })

  it('refuses what it did not make', () => {
    for (const bad of ['', '!!', 'bm90LWEtY3Vyc29y', btoa('r1:not a room'), btoa('r2:lobby'), 'a'.repeat(200)]) expect(decodeCursor(bad), bad).toBeNull()
  })
})

describe('the disconnect body', () => {
  it('is everyone with kicked when empty, and takes sub, connectionId and a closing code', () => {
    expect(readDisconnect('')).toEqual({ code: 'kicked' })
    expect(readDisconnect('  ')).toEqual({ code: 'kicked' })
    expect(readDisconnect('{}')).toEqual({ code: 'kicked' })
    expect(readDisconnect('{"sub":"u1","connectionId":"c1","code":"token_expired"}')).toEqual({ sub: 'u1', connectionId: 'c1', code: 'token_expired' })
  })

  it('refuses a code that closes nothing, an unknown field and other shapes, with a reason', () => {
    for (const body of ['{"code":"rate_limited"}', '{"code":"hello"}', '{"subs":"u"}', '{"sub":""}', '{"connectionId":5}', 'null', '[]', '"x"', '{']) {
      expect(typeof readDisconnect(body), body).toBe('string')
    }
    expect(readDisconnect('{"connection_id":"c"}')).toMatch(/unknown field "connection_id"/)
  })
})

describe('the dashboard charts', () => {
  it('rounds an axis up to 1, 2 or 5 times a power of ten', () => {
    expect([0, 0.5, 1, 1.2, 3, 7, 10, 11, 250, 999, 1001].map(niceMax)).toEqual([1, 1, 1, 2, 5, 10, 10, 20, 500, 1000, 2000])
  })

  it('spreads points left to right with 0 at the bottom and the maximum at the top, and draws them as a path', () => {
    const xy = chartPoints([0, 5, 10], 300, 100, 10)
    expect(xy).toEqual([
      [0, 100],
      [150, 50],
      [300, 0],
    ])
    expect(linePath(xy)).toBe('M0 100 L150 50 L300 0')
    expect(areaPath(xy, 100)).toBe('M0 100 L150 50 L300 0 L300 100 L0 100 Z')
    expect(linePath([])).toBe('')
    expect(areaPath([], 100)).toBe('')
    // Out of range values are held to the box.
    expect(chartPoints([-1, 20], 10, 10, 10)).toEqual([
      [0, 10],
      [10, 0],
    ])
  })
})

describe('the traffic sampler', () => {
  it('turns growing counters into a per-room rate and a series, one point per tick', () => {
    const s = new TrafficSampler(1000, 3)
    const room = { traffic: { messages: 0, deliveries: 0 } }
    s.tick(1000, [room], 2)
    room.traffic.messages = 10
    room.traffic.deliveries = 30
    s.tick(2000, [room], 2)
    expect(s.latest()).toEqual({ t: 2000, connections: 2, messagesPerSecond: 10, deliveriesPerSecond: 30 })
    expect(s.rate(room)).toBeGreaterThan(0)
    expect(s.messages).toBe(10)
    for (let t = 3000; t <= 5000; t += 1000) s.tick(t, [room], 2)
    expect(s.series().map((p) => p.t)).toEqual([3000, 4000, 5000])
    // No traffic for a while: the rate decays towards 0.
    const r = s.rate(room)
    for (let t = 6000; t <= 60_000; t += 1000) s.tick(t, [room], 2)
    expect(s.rate(room)).toBeLessThan(r / 50)
  })
})

describe('the admin backend over a Hub', () => {
  it('lists rooms in name order a page at a time, with a cursor only while more follow', async () => {
    const hub = new Hub({ config: config(), clock: new FakeClock() })
    for (const name of ['c', 'a', 'b']) present(hub.room(name).join(new FakeConnection(), { mode: 'raw' }), 'a member')
    const admin = hubAdmin(hub, { health: () => ({ ready: true, backend: 'memory' }) })
    try {
      const first = await admin.rooms(2, undefined)
      expect(first.rooms.map((r) => r.room)).toEqual(['a', 'b'])
      expect(first.cursor).toBeDefined()
      const second = await admin.rooms(2, decodeCursor(first.cursor as string) ?? undefined)
      expect(second).toEqual({ rooms: [expect.objectContaining({ room: 'c', connections: 1 })] })
      expect((await admin.rooms(3, undefined)).cursor).toBeUndefined()
    } finally {
      admin.stop()
    }
  })

  it('disconnects by sub and connection id, and erases history keeping seq', async () => {
    const hub = new Hub({ config: config(), clock: new FakeClock() })
    const room = hub.room('r')
    const conns = [new FakeConnection(), new FakeConnection(), new FakeConnection()] as const
    const a = present(room.join(conns[0], { mode: 'json', from: 'alice' }), 'alice')
    present(room.join(conns[1], { mode: 'raw', from: 'alice' }), 'alice again')
    present(room.join(conns[2], { mode: 'json', from: 'bob' }), 'bob')
    await flush()
    const admin = hubAdmin(hub, { health: () => ({ ready: true, backend: 'memory' }) })
    try {
      expect((await admin.room('r', 10)).members.map((m) => m.sub)).toEqual(['alice', 'alice', 'bob'])
      expect(await admin.disconnect('r', { code: 'kicked', connectionId: a.info.id })).toBe(1)
      expect(conns[0].closedWith).toEqual({ code: 4002, reason: 'kicked: disconnected by an operator' })
      expect(await admin.disconnect('r', { code: 'kicked', sub: 'alice' })).toBe(1)
      expect(conns[2].closedWith).toBeNull()
      expect(await admin.disconnect('nowhere', { code: 'kicked' })).toBe(0)
      await room.publish('text', 'hello')
      expect(room.historyBytes()).toBe(5)
      expect(await admin.clearHistory('r')).toBe(1)
      expect(room.historyBytes()).toBe(0)
      const replay = await (room as unknown as { log: { replay(s: number, e: undefined): Promise<{ complete: boolean; entries: unknown[] }> } }).log.replay(
        0,
        undefined,
      )
      expect(replay).toMatchObject({ complete: false, entries: [] })
    } finally {
      admin.stop()
    }
  })
})

describe("a Durable Object room's cost", () => {
  it('counts a wake, the time awake up to each flush, and at the next wake the tail and the time asleep', () => {
    const t0 = 1_000_000
    const first = new RoomCost(undefined, t0, 'r')
    expect(first.state).toMatchObject({ room: 'r', since: t0, wakeUps: 1, awakeMs: 0 })
    let saved = first.flush(t0 + 3000, { messages: 4, deliveries: 12 }, 0)
    expect(saved).toMatchObject({ awakeMs: 3000, lastActive: t0 + 3000, messages: 4, deliveries: 12 })
    saved = first.flush(t0 + 5000, { messages: 6, deliveries: 18 }, 2)
    expect(saved).toMatchObject({ awakeMs: 5000, messages: 6, deliveries: 18, autoResponses: 2 })

    // Woken a minute after its last flush: 10 s of that it was still in memory, the rest asleep.
    const second = new RoomCost(JSON.parse(JSON.stringify(saved)), t0 + 65_000)
    expect(second.slept).toBe(65_000 - 5000 - EVICT_AFTER_MS)
    expect(second.state).toMatchObject({ wakeUps: 2, awakeMs: 5000 + EVICT_AFTER_MS, hibernatedMs: 50_000 })
    // Its room's counters start again at 0 after a wake.
    expect(second.flush(t0 + 66_000, { messages: 1, deliveries: 3 }, 0)).toMatchObject({ messages: 7, deliveries: 21, awakeMs: 16_000 })

    // Woken again soon after: still in memory, nothing asleep.
    const third = new RoomCost(second.state, t0 + 70_000)
    expect(third.slept).toBe(0)
    expect(third.state).toMatchObject({ wakeUps: 3, awakeMs: 20_000, hibernatedMs: 50_000 })
  })

  it('counts at most one answered ping per socket per look, from the sockets’ last auto-response times', () => {
    const a = {}
    const b = {}
    const c = {}
    const times = new Map<object, number | undefined>([
      [a, 500],
      [b, 1500],
      [c, undefined],
    ])
    const last = new WeakMap<object, number>()
    expect(countAutoResponses([a, b, c], (s) => times.get(s), last, 1000)).toBe(1)
    expect(countAutoResponses([a, b, c], (s) => times.get(s), last, 1000)).toBe(0)
    times.set(a, 2000)
    times.set(b, 3000)
    expect(countAutoResponses([a, b, c], (s) => times.get(s), last, 1000)).toBe(2)
  })
})

describe('refusals and closes by code, from a metrics registry', () => {
  it('sums refused upgrades, HTTP requests and frames by code, and closes by code, leaving out accepted upgrades and zeros', async () => {
    const families = [
      {
        name: 'roomcast_upgrades_total',
        samples: [
          { labels: { result: 'accepted' }, value: 9 },
          { labels: { result: 'bad_room' }, value: 2 },
          { labels: { result: 'unauthorized' }, value: 0 },
        ],
      },
      {
        name: 'roomcast_http_refusals_total',
        samples: [
          { labels: { code: 'bad_room' }, value: 1 },
          { labels: { code: 'too_large' }, value: 3 },
        ],
      },
      { name: 'roomcast_frames_refused_total', samples: [{ labels: { code: 'rate_limited' }, value: 4 }] },
      {
        name: 'roomcast_closes_total',
        samples: [
          { labels: { code: 'kicked' }, value: 5 },
          { labels: { code: 'flooding' }, value: 0 },
        ],
      },
      { name: 'roomcast_deliveries_total', samples: [{ value: 100 }] },
    ]
    const counts = codeCountsFrom(() => families)
    expect(counts.refusals()).toEqual({ bad_room: 3, too_large: 3, rate_limited: 4 })
    expect(counts.closes()).toEqual({ kicked: 5 })
    const hub = new Hub({ config: config(), clock: new FakeClock(), counts })
    const admin = hubAdmin(hub, { health: () => ({ ready: true, backend: 'memory' }), counts })
    try {
      expect(await admin.stats()).toMatchObject({ refusals: { bad_room: 3 }, closes: { kicked: 5 } })
    } finally {
      admin.stop()
    }
  })
})
