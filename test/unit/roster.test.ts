import { describe, expect, it } from 'vitest'
import type { Config } from '../../src/index.ts'
import { Hub, Session } from '../../src/index.ts'
import { FakeClock, FakeConnection, config, flush } from './fakes.ts'

const HOUR = 3_600_000

function setup(overrides: Partial<Config> = {}) {
  const clock = new FakeClock()
  const hub = new Hub({ config: config({ presenceIntervalMs: 50, presenceGraceMs: 3000, ...overrides }), clock })
  /** A v2 connection of `sub` (anonymous without one) subscribed to `room`. */
  const enter = async (sub: string | undefined, room = 'r', presence = true) => {
    const conn = new FakeConnection()
    const grant = sub === undefined ? undefined : { sub, rooms: ['*'], pub: true, exp: clock.now() + HOUR }
    const session = new Session(hub, conn, grant, clock)
    session.open()
    session.receive(JSON.stringify({ type: 'subscribe', room, presence }))
    await flush()
    return { conn, session, presence: () => conn.ofType('presence') }
  }
  return { clock, hub, enter }
}

describe('presence with identities', () => {
  it('sends the roster first, then one coalesced diff per interval, keyed by sub', async () => {
    const { clock, enter } = setup()
    const watcher = await enter('w')
    clock.advance(50)
    expect(watcher.presence()).toEqual([
      { type: 'presence', room: 'r', connections: 0, members: [] },
      { type: 'presence', room: 'r', connections: 1, joins: [{ sub: 'w', connections: 1 }], leaves: [] },
    ])
    await enter('ann', 'r', false)
    await enter('bob', 'r', false)
    await enter(undefined, 'r', false)
    clock.advance(50)
    expect(watcher.presence().at(-1)).toEqual({
      type: 'presence',
      room: 'r',
      connections: 4,
      joins: [
        { sub: 'ann', connections: 1 },
        { sub: 'bob', connections: 1 },
      ],
      leaves: [],
    })
    const late = await enter('cat')
    expect(late.presence()[0]).toEqual({
      type: 'presence',
      room: 'r',
      connections: 4,
      members: [
        { sub: 'w', connections: 1 },
        { sub: 'ann', connections: 1 },
        { sub: 'bob', connections: 1 },
      ],
    })
  })

  it('counts two tabs of one sub as one member with connections: 2', async () => {
    const { clock, enter } = setup()
    const watcher = await enter('w')
    await enter('ann', 'r', false)
    await enter('ann', 'r', false)
    clock.advance(50)
    expect(watcher.presence().at(-1).joins).toEqual([
      { sub: 'w', connections: 1 },
      { sub: 'ann', connections: 2 },
    ])
  })

  it('says a sub left only after PRESENCE_GRACE_MS without connections, and not at all if it came back within it', async () => {
    const { clock, enter } = setup()
    const watcher = await enter('w')
    const ann = await enter('ann', 'r', false)
    const bob = await enter('bob', 'r', false)
    clock.advance(50)
    ann.session.socketClosed()
    bob.session.socketClosed()
    clock.advance(1000)
    await enter('ann', 'r', false) // a reload
    clock.advance(1000)
    expect(watcher.presence().flatMap((f) => f.leaves ?? [])).toEqual([])
    clock.advance(1100)
    const leaves = watcher.presence().flatMap((f) => f.leaves ?? [])
    expect(leaves).toEqual([{ sub: 'bob' }])
    expect(
      watcher
        .presence()
        .flatMap((f) => f.joins ?? [])
        .filter((j) => j.sub === 'ann'),
    ).toEqual([{ sub: 'ann', connections: 1 }])
  })

  it('coalesces leaves whose grace periods end at different times to one diff per interval', async () => {
    const { clock, enter } = setup()
    const watcher = await enter('w')
    const others = [await enter('a', 'r', false), await enter('b', 'r', false), await enter('c', 'r', false)]
    clock.advance(50)
    const before = watcher.presence().length
    for (const o of others) {
      o.session.socketClosed()
      clock.advance(10)
    }
    clock.advance(3100)
    const diffs = watcher
      .presence()
      .slice(before)
      .filter((f) => f.leaves.length > 0)
    // a's grace ends first and goes out at once; b's and c's, 10 and 20 ms later, wait for the next interval.
    expect(diffs.map((f) => f.leaves.map((l: { sub: string }) => l.sub))).toEqual([['a'], ['b', 'c']])
  })

  it('costs nothing per tick in a steady room', async () => {
    const { clock, enter } = setup()
    const watcher = await enter('w')
    clock.advance(50)
    const n = watcher.conn.sent.length
    clock.advance(60_000)
    expect(watcher.conn.sent.length).toBe(n)
  })

  it('sends O(N) frames for a join storm of N: one diff per watcher per tick, not one per join', async () => {
    const { clock, enter } = setup()
    const watchers = [await enter('w1'), await enter('w2')]
    clock.advance(50)
    const before = watchers.map((w) => w.presence().length)
    for (let i = 0; i < 200; i++) await enter(`u${i}`, 'r', false)
    clock.advance(50)
    expect(watchers.map((w, i) => w.presence().length - (before[i] as number))).toEqual([1, 1])
    expect(watchers[0]?.presence().at(-1).joins).toHaveLength(200)
  })

  it('truncates past PRESENCE_MAX_MEMBERS: counts only, and the roster pages over HTTP', async () => {
    const { clock, enter, hub } = setup({ presenceMaxMembers: 3 })
    const watcher = await enter('w')
    for (const s of ['a', 'b', 'c']) await enter(s, 'r', false)
    clock.advance(50)
    expect(watcher.presence().at(-1)).toEqual({ type: 'presence', room: 'r', connections: 4, joins: [], leaves: [], truncated: true })
    const late = await enter('z')
    expect(late.presence()[0]).toMatchObject({ connections: 4, truncated: true })
    expect(late.presence()[0].members).toHaveLength(3)
    const first = await hub.presence('r', 2)
    expect(first).toEqual({
      room: 'r',
      connections: 4,
      members: [
        { sub: 'a', connections: 1 },
        { sub: 'b', connections: 1 },
      ],
      cursor: 'b',
    })
    const second = await hub.presence('r', 2, first.cursor)
    expect(second).toEqual({
      room: 'r',
      connections: 4,
      members: [
        { sub: 'c', connections: 1 },
        { sub: 'w', connections: 1 },
      ],
    })
  })

  it('keeps v1 members on count-only presence frames, and v2 subscriptions off them', async () => {
    const { clock, hub, enter } = setup()
    const v1 = new FakeConnection()
    hub.room('r').join(v1, { mode: 'json', from: 'old' })
    const v2 = await enter('new')
    clock.advance(50)
    expect(v1.ofType('presence').every((f) => Object.keys(f).join() === 'type,room,connections')).toBe(true)
    expect(v1.ofType('presence').at(-1).connections).toBe(2)
    expect(v2.presence().every((f) => 'members' in f || 'joins' in f)).toBe(true)
    expect(v2.presence().at(-1).joins).toEqual([
      { sub: 'old', connections: 1 },
      { sub: 'new', connections: 1 },
    ])
  })
})
