/**
 * The roster with a remote part (the other instances' subs, as a Redis log keeps them): the fold of
 * local and remote connections per sub, the grace period on the total, and what this instance publishes.
 */
import { describe, expect, it } from 'vitest'
import type { RemoteRoster, RosterShare } from '../../src/index.ts'
import { Roster } from '../../src/index.ts'
import type { MemberInfo } from '../../src/room/connection.ts'
import { Member } from '../../src/room/member.ts'
import { FakeClock, FakeConnection } from './fakes.ts'

/** Another instance's subs, as a Redis log would report them; records what this instance published. */
class FakeRemote implements RemoteRoster {
  readonly subs = new Map<string, RosterShare>()
  readonly published: Map<string, RosterShare>[] = []
  get(sub: string): RosterShare | undefined {
    return this.subs.get(sub)
  }
  publish(changes: ReadonlyMap<string, RosterShare>): void {
    this.published.push(new Map(changes))
  }
}

function setup(maxMembers = 1000) {
  const clock = new FakeClock()
  const remote = new FakeRemote()
  const sent = new Map<Member, any[]>()
  let remoteCount = 0
  let local = 0
  const roster = new Roster({
    room: 'r',
    clock,
    intervalMs: 50,
    graceMs: 3000,
    maxMembers,
    count: () => local + remoteCount,
    send: (m, data) => sent.get(m)?.push(JSON.parse(String(data))),
  })
  roster.attach(remote)
  let n = 0
  const member = (sub: string | undefined, info?: Record<string, unknown>) => {
    const mi: MemberInfo = { id: `c${n++}`, mode: 'json', canPublish: true, v2: true }
    if (sub !== undefined) mi.from = sub
    if (info !== undefined) mi.info = info
    const m = new Member(new FakeConnection(), mi, clock.now(), 10)
    sent.set(m, [])
    return m
  }
  const enter = (m: Member) => {
    local++
    roster.enter(m)
  }
  const exit = (m: Member) => {
    local--
    roster.exit(m)
  }
  /** Another instance now has these connections of `sub` (0: none). */
  const elsewhere = (sub: string, connections: number, info?: Record<string, unknown>) => {
    const before = remote.subs.get(sub)?.connections ?? 0
    remoteCount += connections - before
    if (connections === 0) remote.subs.delete(sub)
    else remote.subs.set(sub, info === undefined ? { connections } : { connections, info })
    roster.remoteChanged([sub])
  }
  const watcher = () => {
    const m = member('w')
    enter(m)
    roster.watch(m)
    return { frames: () => sent.get(m) as any[] }
  }
  return { clock, remote, roster, member, enter, exit, elsewhere, watcher }
}

describe('roster with other instances', () => {
  it('lists subs of other instances, and counts a sub on both once with the sum of its connections', () => {
    const { clock, elsewhere, enter, member, watcher } = setup()
    const w = watcher()
    elsewhere('bob', 1, { name: 'Bob' })
    enter(member('ann'))
    elsewhere('ann', 1)
    clock.advance(50)
    expect(w.frames().at(-1)).toEqual({
      type: 'presence',
      room: 'r',
      connections: 4,
      joins: [
        { sub: 'w', connections: 1 },
        { sub: 'bob', connections: 1, info: { name: 'Bob' } },
        { sub: 'ann', connections: 2 },
      ],
      leaves: [],
    })
  })

  it('publishes this instance’s own connections per sub once per tick, with its info, 0 once gone here', () => {
    const { clock, remote, enter, exit, member } = setup()
    const a1 = member('ann', { name: 'Ann' })
    const a2 = member('ann')
    enter(a1)
    enter(a2)
    enter(member(undefined))
    expect(remote.published).toEqual([])
    clock.advance(50)
    expect(remote.published).toEqual([new Map([['ann', { connections: 2, info: { name: 'Ann' } }]])])
    exit(a1)
    exit(a2)
    clock.advance(50)
    expect(remote.published.at(-1)).toEqual(new Map([['ann', { connections: 0 }]]))
    // Nothing changed since: nothing more is published, however long the room stays.
    clock.advance(10_000)
    expect(remote.published).toHaveLength(2)
  })

  it('runs the grace period on the total: no leave while another instance has the sub, none when it moves there within the grace', () => {
    const { clock, elsewhere, enter, exit, member, roster, watcher } = setup()
    const w = watcher()
    const ann = member('ann')
    enter(ann)
    clock.advance(50)
    // Ann moves: her tab here closes, one on the other instance opens 1 s later.
    exit(ann)
    clock.advance(1000)
    elsewhere('ann', 1)
    clock.advance(5000)
    const leaves = w.frames().flatMap((f) => f.leaves ?? [])
    expect(leaves).toEqual([])
    expect(roster.page(10).members).toContainEqual({ sub: 'ann', connections: 1 })
    // Gone there too (its instance died, or the tab closed): she leaves after the grace, counted from then.
    elsewhere('ann', 0)
    clock.advance(2900)
    expect(w.frames().flatMap((f) => f.leaves ?? [])).toEqual([])
    clock.advance(200)
    expect(w.frames().at(-1)).toMatchObject({ connections: 1, leaves: [{ sub: 'ann' }] })
  })

  it('carries the authorize hook’s info of a local member in its join and in a new watcher’s roster', () => {
    const { clock, enter, member, watcher } = setup()
    const w = watcher()
    enter(member('cy', { name: 'Cy' }))
    clock.advance(50)
    expect(w.frames().at(-1).joins).toContainEqual({ sub: 'cy', connections: 1, info: { name: 'Cy' } })
    expect(watcher().frames()[0].members).toContainEqual({ sub: 'cy', connections: 1, info: { name: 'Cy' } })
  })

  it('a new watcher’s roster and GET pages include other instances’ subs', () => {
    const { clock, elsewhere, roster, watcher } = setup()
    elsewhere('bob', 2)
    elsewhere('cat', 1)
    clock.advance(50)
    const late = watcher()
    expect(late.frames()[0]).toEqual({
      type: 'presence',
      room: 'r',
      connections: 3,
      members: [
        { sub: 'bob', connections: 2 },
        { sub: 'cat', connections: 1 },
      ],
    })
    expect(roster.page(1)).toEqual({ room: 'r', connections: 3, members: [{ sub: 'bob', connections: 2 }], cursor: 'bob' })
  })

  it('past maxMembers across instances, diffs carry counts only', () => {
    const { clock, elsewhere, watcher } = setup(2)
    const w = watcher()
    elsewhere('bob', 1)
    elsewhere('cat', 1)
    clock.advance(50)
    expect(w.frames().at(-1)).toEqual({ type: 'presence', room: 'r', connections: 3, joins: [], leaves: [], truncated: true })
  })
})
