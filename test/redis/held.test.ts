/**
 * Where Redis confirms appends (a cluster: a replica must hold them), the entry of a member's own publish
 * reaches the room (and with it the member's ack) only once its append is confirmed; unconfirmed, it goes
 * without the ack. RedisLog over an in-memory RoomStore whose appends resolve when the test says.
 */
import { describe, expect, it } from 'vitest'
import { RedisLog } from '../../adapters/redis/log.ts'
import type { Beat, Range, RoomListener, RoomStore, RosterPart } from '../../adapters/redis/room-store.ts'
import type { RoomKeys } from '../../adapters/redis/wire.ts'
import type { Appended, Draft, Entry } from '../../src/index.ts'
import { OutcomeUnknown, Unavailable } from '../../src/index.ts'

const EPOCH = 'e1'

/** A store at seq 0 whose appends wait for `confirm` or `fail`. */
class FakeStore implements RoomStore {
  readonly prefix = 'p:'
  readonly instanceId = 'me'
  readonly confirmsAppends = true
  listener: RoomListener | undefined
  private pending: { resolve: (seq: number) => void; reject: (err: unknown) => void }[] = []

  isUp(): boolean {
    return true
  }
  open(room: RoomListener): void {
    this.listener = room
    queueMicrotask(() => room.onSubscribed())
  }
  release(): void {}
  append(_keys: RoomKeys, _draft: Draft): Promise<number> {
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject }))
  }
  appendOnce(keys: RoomKeys, draft: Draft): Promise<Appended> {
    return this.append(keys, draft).then((seq) => ({ seq, duplicate: false, mismatch: false }))
  }
  confirm(seq: number): void {
    this.pending.shift()?.resolve(seq)
  }
  fail(err: Error = new OutcomeUnknown('no replica confirmed it')): void {
    this.pending.shift()?.reject(err)
  }
  async range(): Promise<Range> {
    return { epoch: EPOCH, seq: 0, entries: [] }
  }
  async rebase(): Promise<string> {
    return EPOCH
  }
  async beat(): Promise<Beat> {
    return { epoch: EPOCH, seq: 0, at: 1, others: [], versions: new Map() }
  }
  async rosterWrite(): Promise<number> {
    return 1
  }
  async rosterRead(): Promise<Map<string, RosterPart>> {
    return new Map()
  }
}

const entry = (seq: number, own: boolean): Entry => ({ seq, kind: 'text', body: `m${seq}`, ts: seq, ...(own ? { origin: 'c1', id: `p${seq}` } : {}) })

async function placed() {
  const store = new FakeStore()
  const given: Entry[] = []
  const log = new RedisLog('r', { deliver: (e) => void given.push(e), membersChanged: () => {}, lost: () => {} }, store)
  await log.ready()
  return { store, log, given, listener: store.listener as RoomListener }
}

const tick = () => new Promise((r) => setTimeout(r, 0))

describe('a member publish on a log whose appends are confirmed', () => {
  it('holds its entry, and every entry after it, until the append is confirmed; then gives them in order, with the ack id', async () => {
    const { store, log, given, listener } = await placed()
    const acked = log.append({ kind: 'text', body: 'm1', ts: 1, origin: 'c1', id: 'p1' })
    await tick()
    listener.onEntry(EPOCH, entry(1, true))
    listener.onEntry(EPOCH, entry(2, false))
    expect(given).toEqual([])
    // A member joining now starts before the held entries, so it still gets them.
    expect(await log.joinPoint()).toEqual({ seq: 0, epoch: EPOCH })
    store.confirm(1)
    expect(await acked).toBe(1)
    expect(given.map((e) => [e.seq, e.id])).toEqual([
      [1, 'p1'],
      [2, undefined],
    ])
  })

  it('gives an entry whose append was not confirmed without its id (no ack), and what came after it', async () => {
    const { store, log, given, listener } = await placed()
    const failed = log.append({ kind: 'text', body: 'm1', ts: 1, origin: 'c1', id: 'p1' })
    await tick()
    listener.onEntry(EPOCH, entry(1, true))
    listener.onEntry(EPOCH, entry(2, false))
    store.fail()
    await expect(failed).rejects.toBeInstanceOf(OutcomeUnknown)
    expect(given.map((e) => e.seq)).toEqual([1, 2])
    expect(given[0]).not.toHaveProperty('id')
  })

  it('strips the id of an unconfirmed publish whose entry comes after the failure', async () => {
    const { store, log, given, listener } = await placed()
    const failed = log.append({ kind: 'text', body: 'm1', ts: 1, origin: 'c1', id: 'p1' })
    await tick()
    store.fail()
    await expect(failed).rejects.toBeInstanceOf(OutcomeUnknown)
    listener.onEntry(EPOCH, entry(1, true))
    expect(given.map((e) => [e.seq, e.id])).toEqual([[1, undefined]])
  })

  // Found by the chaos run on a cluster (a slot moved: the first try got ASK, `unavailable`): the resend was
  // published, and its entry went out without the id, so its publisher never got the ack and gave up.
  it('acks a resend that was published after a first try that never ran (unavailable)', async () => {
    const { store, log, given, listener } = await placed()
    const draft = () => ({ kind: 'text' as const, body: 'm1', ts: 1, origin: 'c1', id: 'p1' })
    const first = log.append(draft())
    await tick()
    store.fail(new Unavailable('MOVED; nothing was published'))
    await expect(first).rejects.toBeInstanceOf(Unavailable)
    const resend = log.append(draft())
    await tick()
    store.confirm(1)
    expect(await resend).toBe(1)
    listener.onEntry(EPOCH, entry(1, true))
    expect(given.map((e) => [e.seq, e.id])).toEqual([[1, 'p1']])
  })

  it('acks a resend that was published after a first try whose outcome was unknown and that did not run', async () => {
    const { store, log, given, listener } = await placed()
    const draft = () => ({ kind: 'text' as const, body: 'm1', ts: 1, origin: 'c1', id: 'p1' })
    const first = log.append(draft())
    await tick()
    store.fail()
    await expect(first).rejects.toBeInstanceOf(OutcomeUnknown)
    const resend = log.append(draft())
    await tick()
    listener.onEntry(EPOCH, entry(1, true))
    store.confirm(1)
    expect(await resend).toBe(1)
    expect(given.map((e) => [e.seq, e.id])).toEqual([[1, 'p1']])
  })

  it('does not hold entries of others, or publishes without an id', async () => {
    const { log, given, listener } = await placed()
    void log.append({ kind: 'text', body: 'http', ts: 1 }).catch(() => {})
    await tick()
    listener.onEntry(EPOCH, entry(1, false))
    expect(given.map((e) => e.seq)).toEqual([1])
  })
})
