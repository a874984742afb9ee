/**
 * The admin API's view of every instance sharing a Redis (src/admin/directory.ts):
 * - a listing: each instance leases the rooms it has open (names and leases,
 *   directory-scripts.ts) every heartbeat; a room whose leases all lapse drops out;
 * - questions to the instances that have a room open, on the room's own channel
 *   ("a <json>"), which exactly those instances subscribe to: PUBLISH says how
 *   many received it, and each answers on the asker's instance channel
 *   ("r <json>"), so the asker knows how many answers to wait for.
 * It runs on either transport (transport.ts): on a cluster each script's keys
 * share one slot (names and leases by their `{rooms}` tag, a room's by its
 * own), and both channels are shard channels (SPUBLISH/SSUBSCRIBE).
 */

import type { Lease, RoomAnswer, RoomDirectory, RoomPage, RoomQuestion, RoomStats } from '../../src/index.ts'
import { Unavailable, encodeCursor } from '../../src/index.ts'
import type { DirectoryScript } from './directory-scripts.ts'
import type { Reply } from './transport.ts'
import { roomKeys } from './wire.ts'

/** How long an asker waits for the instances' answers before it goes with those that came. */
export const ASK_TIMEOUT_MS = 2000
/** Rooms leased per script call, so one call never holds Redis for long. */
const LEASE_CHUNK = 500

/** What the directory needs of the instance's Redis (RedisBackend, through its transport). */
export interface DirectoryHost {
  readonly prefix: string
  readonly instanceId: string
  readonly up: boolean
  /** Run one of the directory's scripts (both keys in one slot). */
  run(script: DirectoryScript, keys: [string, string], args: (string | number)[]): Promise<Reply>
  /** Publish on a channel as the transport carries channels; resolves with how many subscribers got it. */
  publish(channel: string, message: string): Promise<number>
  /** Subscribe the instance channel now and after every reconnect. */
  listen(channel: string): void
}

interface Asking {
  answers: RoomAnswer[]
  expected: number | undefined
  done: () => void
}

/** The directory of every instance sharing one Redis. */
export class RedisDirectory implements RoomDirectory {
  readonly leaseIntervalMs: number
  private readonly names: string
  private readonly leases: string
  /** Where other instances send this one their answers. */
  readonly channel: string
  private answer: ((room: string, q: RoomQuestion) => RoomAnswer) | undefined
  private readonly asking = new Map<string, Asking>()
  private asked = 0

  constructor(
    private readonly host: DirectoryHost,
    heartbeatMs: number,
  ) {
    this.leaseIntervalMs = heartbeatMs
    const base = `${host.prefix}{rooms}`
    this.names = `${base}:names`
    this.leases = `${base}:leases`
    this.channel = `${host.prefix}instance:${host.instanceId}`
  }

  async lease(rooms: Lease[]): Promise<void> {
    if (!this.host.up) throw new Unavailable('redis unreachable')
    const ttl = this.leaseIntervalMs * 3
    for (let i = 0; i < rooms.length; i += LEASE_CHUNK) {
      const args: (string | number)[] = [ttl]
      for (const r of rooms.slice(i, i + LEASE_CHUNK)) args.push(r.room, r.messagesPerSecond)
      await this.host.run('rcLease', [this.names, this.leases], args)
    }
  }

  async rooms(limit: number, after: string | undefined): Promise<RoomPage> {
    if (!this.host.up) throw new Unavailable('redis unreachable')
    const run = this.host.run
    const r = await run('rcList', [this.names, this.leases], [after ?? '', limit, limit * 4 + 100]).catch(unavailable('listing rooms'))
    const listed: [string, number][] = []
    for (let i = 1; i + 1 < r.length; i += 2) listed.push([String(r[i]), Number(r[i + 1])])
    // One read per room, each in its own slot; auto-pipelining sends them together.
    const infos = await Promise.all(
      listed.map(([room]) => {
        const k = roomKeys(this.host.prefix, room)
        return run('rcInfo', [k.meta, k.presence], [])
      }),
    ).catch(unavailable('reading rooms'))
    const rooms = listed.map(([room, rate], i) => {
      const [seq = 0, historyBytes = 0, connections = 0] = (infos[i] ?? []).map(Number)
      return { room, connections, seq, historyBytes, messagesPerSecond: rate }
    })
    const cursor = String(r[0] ?? '')
    return cursor === '' ? { rooms } : { rooms, cursor: encodeCursor(cursor) }
  }

  async stats(room: string): Promise<RoomStats> {
    if (!this.host.up) throw new Unavailable('redis unreachable')
    const k = roomKeys(this.host.prefix, room)
    const [seq = 0, , connections = 0] = (await this.host.run('rcInfo', [k.meta, k.presence], []).catch(unavailable('reading the room'))).map(Number)
    return { room, connections, seq }
  }

  async clearHistory(room: string): Promise<number> {
    if (!this.host.up) throw new Unavailable('redis unreachable')
    const k = roomKeys(this.host.prefix, room)
    return Number(await this.host.run('rcClear', [k.meta, k.log], []).catch(unavailable('erasing history')))
  }

  async ask(room: string, question: RoomQuestion): Promise<RoomAnswer[]> {
    if (!this.host.up) throw new Unavailable('redis unreachable')
    const id = `${this.host.instanceId}-${++this.asked}`
    const asking: Asking = { answers: [], expected: undefined, done: () => {} }
    const finished = new Promise<void>((resolve) => {
      asking.done = resolve
    })
    this.asking.set(id, asking)
    const timer = setTimeout(asking.done, ASK_TIMEOUT_MS)
    try {
      const message = `a ${JSON.stringify({ id, room, reply: this.channel, question })}`
      asking.expected = await this.host.publish(roomKeys(this.host.prefix, room).channel, message).catch(unavailable('asking the instances'))
      if (asking.answers.length >= asking.expected) asking.done()
      await finished
      return asking.answers
    } finally {
      clearTimeout(timer)
      this.asking.delete(id)
    }
  }

  answerWith(answer: (room: string, question: RoomQuestion) => RoomAnswer): void {
    this.answer = answer
    this.host.listen(this.channel)
  }

  // ---- what the backend hands over from its subscriptions ----

  /** A question on a room's channel ("a <json>"): answer it from this instance's rooms, on the asker's channel. */
  onQuestion(text: string): void {
    if (this.answer === undefined) return
    let q: { id: string; room: string; reply: string; question: RoomQuestion }
    try {
      q = JSON.parse(text.slice(2))
    } catch {
      return
    }
    const answer = this.answer(q.room, q.question)
    this.host.publish(q.reply, `r ${JSON.stringify({ id: q.id, answer })}`).catch(() => {})
  }

  /** An answer on this instance's channel ("r <json>"). */
  onAnswer(text: string): void {
    let r: { id: string; answer: RoomAnswer }
    try {
      r = JSON.parse(text.slice(2))
    } catch {
      return
    }
    const asking = this.asking.get(r.id)
    if (asking === undefined) return
    asking.answers.push(r.answer)
    if (asking.expected !== undefined && asking.answers.length >= asking.expected) asking.done()
  }
}

/** Turn a failed command into Unavailable (503), saying what was being done. */
function unavailable(doing: string): (err: unknown) => never {
  return (err) => {
    throw new Unavailable(`redis failed while ${doing} (${err instanceof Error ? err.message : String(err)})`)
  }
}
