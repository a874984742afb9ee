/**
 * An entry at a seq this instance already delivered as another one: history decides which stands. On a
 * cluster, a master SIGSTOPped past the node timeout and failed over runs, when it wakes, what queued up in
 * its sockets before it hears it was replaced, and its SPUBLISH reaches the instances after the new master's
 * entries at the same seqs. If history holds what was delivered, that entry is a stale master's: dropped,
 * the room carries on (found by the cluster chaos run, where every such freeze rebased the room). If history
 * holds the other one, the sequence was rolled back: a new epoch, the members resync.
 * RedisLog over an in-memory RoomStore.
 */
import { describe, expect, it } from 'vitest'
import { RedisLog } from '../../adapters/redis/log.ts'
import type { Beat, Range, RoomListener, RoomStore, RosterPart } from '../../adapters/redis/room-store.ts'
import type { RoomKeys } from '../../adapters/redis/wire.ts'
import type { Appended, Draft, Entry } from '../../src/index.ts'

const EPOCH = 'e1'

/** A store whose history is `history`, counting rebases. */
class FakeStore implements RoomStore {
  readonly prefix = 'p:'
  readonly instanceId = 'me'
  readonly confirmsAppends = true
  listener: RoomListener | undefined
  history: Entry[] = []
  rebases = 0
  /** Range reads to refuse before answering (a shard failing over). */
  refuse = 0
  /** How long a range read takes to answer (what it read is as of when it was asked). */
  delayMs = 0

  isUp(): boolean {
    return true
  }
  open(room: RoomListener): void {
    this.listener = room
    queueMicrotask(() => room.onSubscribed())
  }
  release(): void {}
  async append(): Promise<number> {
    throw new Error('not used')
  }
  async appendOnce(_keys: RoomKeys, _draft: Draft): Promise<Appended> {
    throw new Error('not used')
  }
  async range(_keys: RoomKeys, since: number): Promise<Range> {
    if (this.refuse > 0 && this.refuse--) throw new Error('no replica confirmed it')
    const read: Range = { epoch: EPOCH, seq: this.history.at(-1)?.seq ?? 0, entries: this.history.filter((e) => e.seq > since) }
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs))
    return read
  }
  async rebase(): Promise<string> {
    this.rebases++
    return EPOCH
  }
  async beat(): Promise<Beat> {
    return { epoch: EPOCH, seq: this.history.at(-1)?.seq ?? 0, at: 1, others: [], versions: new Map() }
  }
  async rosterWrite(): Promise<number> {
    throw new Error('not used')
  }
  async rosterRead(): Promise<Map<string, RosterPart>> {
    throw new Error('not used')
  }
}

const entry = (seq: number, body: string): Entry => ({ seq, kind: 'text', body, ts: seq })
const settle = () => new Promise((r) => setTimeout(r, 20))

async function placed() {
  const store = new FakeStore()
  const given: Entry[] = []
  const log = new RedisLog('r', { deliver: (e) => void given.push(e), membersChanged: () => {}, lost: () => {} }, store)
  await log.ready()
  return { store, given, listener: store.listener as RoomListener }
}

describe('an entry at a seq already delivered as another one', () => {
  it('is dropped when history holds what was delivered (a stale master’s entry): no rebase, the room carries on', async () => {
    const { store, given, listener } = await placed()
    store.history = [entry(1, 'new-1'), entry(2, 'new-2')]
    listener.onEntry(EPOCH, entry(1, 'new-1'))
    listener.onEntry(EPOCH, entry(2, 'new-2'))
    // The frozen master wakes and publishes what it ran: the same seqs, other entries.
    listener.onEntry(EPOCH, entry(1, 'stale-1'))
    listener.onEntry(EPOCH, entry(2, 'stale-2'))
    await settle()
    expect(store.rebases).toBe(0)
    store.history.push(entry(3, 'new-3'))
    listener.onEntry(EPOCH, entry(3, 'new-3'))
    await settle()
    expect(given.map((e) => e.body)).toEqual(['new-1', 'new-2', 'new-3'])
    expect(store.rebases).toBe(0)
  })

  it('asks history again while it cannot be read (the shard failing over), and then drops the stale entry', async () => {
    const { store, given, listener } = await placed()
    store.history = [entry(1, 'new-1')]
    listener.onEntry(EPOCH, entry(1, 'new-1'))
    store.refuse = 2
    listener.onEntry(EPOCH, entry(1, 'stale-1'))
    await new Promise((r) => setTimeout(r, 800))
    expect(store.refuse).toBe(0)
    expect(store.rebases).toBe(0)
    expect(given.map((e) => e.body)).toEqual(['new-1'])
  })

  it('does not take entries delivered while history was read for history behind', async () => {
    const { store, given, listener } = await placed()
    store.history = [entry(1, 'new-1')]
    listener.onEntry(EPOCH, entry(1, 'new-1'))
    store.delayMs = 50
    listener.onEntry(EPOCH, entry(1, 'stale-1'))
    // While the read is on its way, the room goes on: what it read is behind these.
    await new Promise((r) => setTimeout(r, 10))
    for (const e of [entry(2, 'new-2'), entry(3, 'new-3')]) {
      store.history.push(e)
      listener.onEntry(EPOCH, e)
    }
    await new Promise((r) => setTimeout(r, 150))
    expect(store.rebases).toBe(0)
    expect(given.map((e) => e.body)).toEqual(['new-1', 'new-2', 'new-3'])
  })

  it('rebases the room when history holds the other entry (the sequence was rolled back)', async () => {
    const { store, listener } = await placed()
    store.history = [entry(1, 'lost-1')]
    listener.onEntry(EPOCH, entry(1, 'lost-1'))
    // History lost its end: seq 1 handed out again.
    store.history = [entry(1, 'other-1')]
    listener.onEntry(EPOCH, entry(1, 'other-1'))
    await settle()
    expect(store.rebases).toBe(1)
  })
})
