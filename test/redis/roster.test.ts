/**
 * RoomRoster (adapters/redis/roster.ts) over an in-memory RoomStore: announcements that continue a part's
 * version are applied, a gap or an oversized one is re-read, a heartbeat drops the parts of instances whose
 * lease lapsed and re-reads parts whose version moved, and this instance's part is written once per publish,
 * again in full when Redis lost it.
 */
import { describe, expect, it } from 'vitest'
import type { Beat, RoomListener, RoomStore, RosterPart } from '../../adapters/redis/room-store.ts'
import { RoomRoster, decodeShare, encodeShare } from '../../adapters/redis/roster.ts'
import type { RoomKeys } from '../../adapters/redis/wire.ts'
import { roomKeys } from '../../adapters/redis/wire.ts'
import type { RosterShare } from '../../src/index.ts'

const tick = () => new Promise((r) => setTimeout(r, 0))

/** The parts Redis holds, and what was asked of it. */
class FakeStore implements Partial<RoomStore> {
  readonly prefix = 'p:'
  readonly instanceId = 'me'
  readonly parts = new Map<string, RosterPart>()
  readonly writes: { reset: boolean; message: string; pairs: string[] }[] = []
  readonly reads: string[][] = []
  isUp(): boolean {
    return true
  }
  async rosterWrite(_k: RoomKeys, reset: boolean, message: string, pairs: string[]): Promise<number> {
    this.writes.push({ reset, message, pairs })
    return this.writes.length
  }
  async rosterRead(_k: RoomKeys, instances: string[]): Promise<Map<string, RosterPart>> {
    this.reads.push(instances)
    const out = new Map<string, RosterPart>()
    for (const id of instances) out.set(id, this.parts.get(id) ?? { version: 0, subs: new Map() })
    return out
  }
}

function setup(maxAnnounced = 1000) {
  const store = new FakeStore()
  const listener = { keys: roomKeys('p:', 'r') } as RoomListener
  const changed: string[][] = []
  const roster = new RoomRoster(store as unknown as RoomStore, listener, (subs) => changed.push([...subs]), maxAnnounced)
  const beat = (others: [string, number][], versions: [string, number][]): Beat => ({ epoch: 'e', seq: 0, at: 1, others, versions: new Map(versions) })
  return { store, roster, changed, beat }
}

describe('the Redis roster of other instances', () => {
  it('applies announcements that continue a part’s version, summing a sub over instances', () => {
    const { roster, changed } = setup()
    roster.heard(
      'b',
      1,
      JSON.stringify([
        ['ann', 2, { name: 'Ann' }],
        ['bob', 1],
      ]),
    )
    roster.heard('c', 1, JSON.stringify([['ann', 1]]))
    expect(roster.get('ann')).toEqual({ connections: 3, info: { name: 'Ann' } })
    roster.heard('b', 2, JSON.stringify([['bob', 0]]))
    expect(roster.get('bob')).toBeUndefined()
    expect(changed).toEqual([['ann', 'bob'], ['ann'], ['bob']])
    // Its own announcements come back on the channel too: ignored.
    roster.heard('me', 1, JSON.stringify([['zed', 1]]))
    expect(roster.get('zed')).toBeUndefined()
  })

  it('re-reads a part after a missed announcement or one that carries no changes (*), and keeps a newer one applied meanwhile', async () => {
    const { store, roster } = setup()
    store.parts.set('b', { version: 3, subs: new Map([['cat', { connections: 1 }]]) })
    roster.heard('b', 3, JSON.stringify([['cat', 1]]))
    expect(store.reads).toEqual([['b']])
    await tick()
    expect(roster.get('cat')).toEqual({ connections: 1 })
    roster.heard('b', 4, '*')
    expect(store.reads).toHaveLength(2)
    await tick()
    // A read in flight (after a gap: 6 while holding 3), an announcement continuing what is held (4) arrives
    // first: the read's older answer (version 3) does not undo it.
    store.parts.set('b', { version: 3, subs: new Map([['cat', { connections: 1 }]]) })
    roster.heard('b', 6, JSON.stringify([['eve', 1]]))
    roster.heard('b', 4, JSON.stringify([['dot', 1]]))
    await tick()
    expect(roster.get('dot')).toEqual({ connections: 1 })
  })

  it('on a heartbeat drops the parts of instances whose lease lapsed, and re-reads parts whose version moved', async () => {
    const { store, roster, changed, beat } = setup()
    roster.heard('b', 1, JSON.stringify([['eve', 1]]))
    roster.heard('c', 1, JSON.stringify([['fay', 1]]))
    const turn = roster.turn
    store.parts.set('c', { version: 2, subs: new Map([['fay', { connections: 2 }]]) })
    roster.applyBeat(beat([['c', 2]], [['c', 2]]), turn)
    expect(roster.get('eve')).toBeUndefined()
    expect(changed.at(-1)).toEqual(['eve'])
    expect(store.reads).toEqual([['c']])
    await tick()
    expect(roster.get('fay')).toEqual({ connections: 2 })
  })

  it('does not drop a part heard after the heartbeat read started', () => {
    const { roster, beat } = setup()
    const turn = roster.turn
    roster.heard('b', 1, JSON.stringify([['gil', 1]]))
    roster.applyBeat(beat([], []), turn)
    expect(roster.get('gil')).toEqual({ connections: 1 })
  })

  it('writes this instance’s changes once per publish, announces at most maxAnnounced of them, and rewrites all when Redis lost its part', async () => {
    const { store, roster, beat } = setup(2)
    roster.publish(new Map<string, RosterShare>([['ann', { connections: 1, info: { n: 1 } }]]))
    await tick()
    expect(store.writes).toEqual([{ reset: false, message: '[["ann",1,{"n":1}]]', pairs: ['ann', '1 {"n":1}'] }])
    roster.publish(
      new Map<string, RosterShare>([
        ['bob', { connections: 1 }],
        ['cat', { connections: 1 }],
        ['ann', { connections: 0 }],
      ]),
    )
    await tick()
    expect(store.writes.at(-1)).toEqual({ reset: false, message: '*', pairs: ['bob', '1', 'cat', '1', 'ann', ''] })
    // A heartbeat without this instance's version: Redis lost its part; it is written again, whole.
    roster.applyBeat(beat([], []), roster.turn)
    await tick()
    expect(store.writes.at(-1)).toEqual({ reset: true, message: '*', pairs: ['bob', '1', 'cat', '1'] })
  })

  it('encodes a share as Redis holds it', () => {
    expect(decodeShare(encodeShare({ connections: 2, info: { a: [1] } }))).toEqual({ connections: 2, info: { a: [1] } })
    expect(decodeShare('3')).toEqual({ connections: 3 })
    expect(decodeShare('0')).toBeUndefined()
    expect(decodeShare('x')).toBeUndefined()
  })
})
