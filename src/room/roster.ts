/**
 * Presence with identities (protocol v2): who is in a room, keyed by `sub`.
 * A sub with several connections is one member with `connections: n`; it
 * leaves only once its last connection has been gone for PRESENCE_GRACE_MS,
 * so a reload does not flap. Anonymous members are counted, never listed.
 *
 * Changes are coalesced per PRESENCE_INTERVAL_MS into one diff, encoded once
 * and sent to every watcher: a tick costs O(changes + watchers), a steady room
 * costs nothing (no tick is scheduled). Everyone, watchers old and new, sees
 * the roster as of the last tick (`announced`), so all see the same sequence.
 *
 * Where the room's log spans instances (Redis), the other instances' subs come
 * from its `RemoteRoster`: a sub's connections are this instance's plus the
 * others', and the grace period runs on that total, so a tab moving to another
 * instance does not flap. This instance's own counts go out to the others
 * once per tick, for the subs that changed. Without a remote part (one
 * process, a Durable Object) none of that runs.
 */
import type { Clock } from '../config/clock.ts'
import type { MemberData } from '../hooks/hooks.ts'
import type { RemoteRoster, RosterShare } from '../log/room-log.ts'
import type { RosterMember } from '../wire/v2.ts'
import { encodePresenceDiff, encodePresenceState } from '../wire/v2.ts'
import type { SendTo } from './delivery.ts'
import type { Member } from './member.ts'

/** What a roster needs from its room. */
export interface RosterOptions {
  room: string
  clock: Clock
  intervalMs: number
  graceMs: number
  maxMembers: number
  /** The room's connection count (across instances, where the room's log knows it). */
  count: () => number
  send: SendTo
  /**
   * Call `tick()` at `at` (Unix ms), replacing any earlier schedule. Default: a clock timer. A Durable Object
   * sets its storage alarm instead: a pending timer would keep it from hibernating, and one lost with an
   * evicted object would lose the leave it was for.
   */
  schedule?: (at: number) => void
  /** Where what watchers were told and who is in a grace period survive the process (a Durable Object's storage); default: memory only. */
  store?: RosterStore
}

/** What a roster keeps past its process: what watchers were told, and the subs in a grace period (when their last connection left). */
export interface RosterSnapshot {
  announced: RosterMember[]
  count: number
  gone: [string, number][]
}

/** The persistence seam of a roster: absent (memory only) on Node, Deno and Bun; a Durable Object's SQLite on Cloudflare. */
export interface RosterStore {
  load(): RosterSnapshot | undefined
  save(snapshot: RosterSnapshot): void
}

interface Entry {
  /** Its connections on this instance. */
  connections: number
  /** The `info` of its first connection here, if the authorize hook gave one. */
  info?: MemberData
  /** When its last connection anywhere left (Unix ms); undefined while it has one. */
  goneAt?: number
}

/** A page of the roster, for `GET /rooms/:room/presence`. */
export interface RosterPage {
  room: string
  connections: number
  members: RosterMember[]
  cursor?: string
}

/** One room's roster and the presence frames of its v2 watchers. */
export class Roster {
  /** Every sub with a connection here, or in its grace period. */
  private readonly current = new Map<string, Entry>()
  /** The roster as of the last tick: what every watcher has been told. */
  private readonly announced = new Map<string, RosterMember>()
  private announcedCount = 0
  /** Subs changed since the last tick. */
  private readonly dirty = new Set<string>()
  private countDirty = false
  private readonly watchers = new Set<Member>()
  private timer: unknown = undefined
  private timerAt = 0
  /** The other instances' subs, where the room's log spans instances. */
  private remote: RemoteRoster | undefined = undefined
  /** Subs whose connections here changed since the last tick, to tell the other instances (only with a remote part). */
  private readonly outgoing = new Set<string>()

  constructor(private readonly o: RosterOptions) {
    this.announcedCount = o.count()
    const saved = o.store?.load()
    if (saved !== undefined) {
      for (const m of saved.announced) this.announced.set(m.sub, m)
      this.announcedCount = saved.count
      for (const [sub, goneAt] of saved.gone) this.current.set(sub, { connections: 0, goneAt })
    }
  }

  /** The room's log spans instances: fold their subs in from now on (called once, before any member joins). */
  attach(remote: RemoteRoster): void {
    this.remote = remote
  }

  /** A member joined the room: count it under its sub. `restored`: it was here before the process started (a Durable Object waking), nothing to announce yet. */
  enter(m: Member, restored = false): void {
    const sub = m.info.from
    if (sub !== undefined) {
      let e = this.current.get(sub)
      if (e === undefined) {
        e = { connections: 0 }
        this.current.set(sub, e)
      }
      e.connections++
      if (e.info === undefined && m.info.info !== undefined) e.info = m.info.info
      e.goneAt = undefined
      if (!restored) this.dirty.add(sub)
      if (this.remote !== undefined) this.outgoing.add(sub)
    }
    if (!restored) this.changed()
  }

  /** A restored v2 member that had asked for presence: it heard the roster before, diffs follow. */
  rewatch(m: Member): void {
    this.watchers.add(m)
  }

  /**
   * Every restored member has entered: whatever differs from what was announced (a change whose tick was
   * lost with an evicted process, a grace period that ends later) is looked at when it is due.
   */
  settle(): void {
    for (const [sub, e] of this.current) if (e.goneAt !== undefined || this.announced.get(sub)?.connections !== this.total(sub, e)) this.dirty.add(sub)
    for (const sub of this.announced.keys()) if (!this.current.has(sub)) this.dirty.add(sub)
    if (this.dirty.size === 0) return
    let at = Infinity
    for (const sub of this.dirty) {
      const goneAt = this.current.get(sub)?.goneAt
      at = Math.min(at, goneAt === undefined ? this.o.clock.now() + this.o.intervalMs : goneAt + this.o.graceMs)
    }
    this.schedule(at)
  }

  /** A member left the room (or was dropped). */
  exit(m: Member): void {
    this.watchers.delete(m)
    const sub = m.info.from
    if (sub !== undefined) {
      const e = this.current.get(sub)
      if (e !== undefined && e.connections > 0) {
        e.connections--
        const wasHere = e.goneAt === undefined
        this.settleGrace(sub, e)
        // Its leave is due after the grace period, maybe after this process: keep when it went.
        if (wasHere && e.goneAt !== undefined) this.save()
      }
      this.dirty.add(sub)
      if (this.remote !== undefined) this.outgoing.add(sub)
    }
    this.changed()
  }

  /** Other instances' connections of these subs changed (the remote part heard it): fold them in at the next tick. */
  remoteChanged(subs: Iterable<string>): void {
    const remote = this.remote
    if (remote === undefined) return
    for (const sub of subs) {
      let e = this.current.get(sub)
      if (e === undefined) {
        if (remote.get(sub) === undefined) continue
        e = { connections: 0 }
        this.current.set(sub, e)
      }
      this.settleGrace(sub, e)
      this.dirty.add(sub)
    }
    this.changed()
  }

  /** Start `sub`'s grace period when its last connection anywhere is gone; end it when one is back. */
  private settleGrace(sub: string, e: Entry): void {
    if (this.total(sub, e) > 0) e.goneAt = undefined
    else e.goneAt ??= this.o.clock.now()
  }

  /** `sub`'s connections here and on the other instances. */
  private total(sub: string, e: Entry): number {
    return this.remote === undefined ? e.connections : e.connections + (this.remote.get(sub)?.connections ?? 0)
  }

  /** The count may have changed (a member elsewhere): tell watchers at the next tick. */
  changed(): void {
    this.countDirty = true
    if (this.watchers.size > 0 || this.dirty.size > 0) this.schedule(this.o.clock.now() + this.o.intervalMs)
  }

  /** A v2 member that asked for presence is live: send it the roster as of the last tick; diffs follow. */
  watch(m: Member): void {
    this.watchers.add(m)
    const truncated = this.announced.size > this.o.maxMembers
    const members: RosterMember[] = []
    for (const member of this.announced.values()) {
      if (members.length >= this.o.maxMembers) break
      members.push(member)
    }
    this.o.send(m, encodePresenceState(this.o.room, this.announcedCount, members, truncated))
  }

  /** A page of the roster as of the last tick, ordered by sub; `cursor` is the last sub of the previous page. */
  page(limit: number, cursor?: string): RosterPage {
    const subs = [...this.announced.keys()].filter((s) => cursor === undefined || s > cursor).sort()
    const members = subs.slice(0, limit).map((sub) => this.announced.get(sub) as RosterMember)
    const page: RosterPage = { room: this.o.room, connections: this.announcedCount, members }
    if (subs.length > limit) page.cursor = members[members.length - 1]?.sub
    return page
  }

  /** Stop the pending tick. */
  dispose(): void {
    if (this.timer !== undefined) this.o.clock.clearTimeout(this.timer)
    this.timer = undefined
    this.timerAt = 0
  }

  private schedule(at: number): void {
    const external = this.o.schedule
    if (external !== undefined) {
      if (this.timerAt !== 0 && this.timerAt <= at) return
      this.timerAt = at
      return external(at)
    }
    if (this.timer !== undefined) {
      if (this.timerAt <= at) return
      this.o.clock.clearTimeout(this.timer)
    }
    this.timerAt = at
    this.timer = this.o.clock.setTimeout(
      () => {
        this.timer = undefined
        this.tick()
      },
      Math.max(0, at - this.o.clock.now()),
    )
  }

  private save(): void {
    const store = this.o.store
    if (store === undefined) return
    const gone: [string, number][] = []
    for (const [sub, e] of this.current) if (e.goneAt !== undefined) gone.push([sub, e.goneAt])
    store.save({ announced: [...this.announced.values()], count: this.announcedCount, gone })
  }

  /** Fold the changes since the last tick into one diff for every watcher. With `schedule` given, its owner calls this when due. */
  tick(): void {
    this.timerAt = 0
    const now = this.o.clock.now()
    const joins: RosterMember[] = []
    const leaves: string[] = []
    let nextGraceEnd = Infinity
    if (this.outgoing.size > 0) this.publish()
    for (const sub of this.dirty) {
      const e = this.current.get(sub)
      if (e === undefined) {
        this.dirty.delete(sub)
        // Announced, and gone with a process that could not keep its grace period: it left.
        if (this.announced.delete(sub)) leaves.push(sub)
        continue
      }
      const elsewhere = this.remote?.get(sub)
      const connections = elsewhere === undefined ? e.connections : e.connections + elsewhere.connections
      if (connections > 0) {
        this.dirty.delete(sub)
        if (this.announced.get(sub)?.connections !== connections) {
          const member: RosterMember = { sub, connections }
          const info = e.info ?? elsewhere?.info
          if (info !== undefined) member.info = info
          this.announced.set(sub, member)
          joins.push(member)
        }
      } else if (e.goneAt === undefined) {
        // Gone everywhere without a grace start seen (an instance's part vanished): it starts now.
        e.goneAt = now
        nextGraceEnd = Math.min(nextGraceEnd, now + this.o.graceMs)
      } else if (now - e.goneAt >= this.o.graceMs) {
        this.dirty.delete(sub)
        this.current.delete(sub)
        if (this.announced.delete(sub)) leaves.push(sub)
      } else {
        // Still within its grace: no leave yet (a reload comes back here), look again when it ends.
        nextGraceEnd = Math.min(nextGraceEnd, e.goneAt + this.o.graceMs)
      }
    }
    const count = this.o.count()
    const countChanged = this.countDirty && count !== this.announcedCount
    this.countDirty = false
    this.announcedCount = count
    // Grace periods end at scattered times; their leaves still go out at most once per interval.
    if (nextGraceEnd !== Infinity) this.schedule(Math.max(nextGraceEnd, now + this.o.intervalMs))
    if (joins.length === 0 && leaves.length === 0 && !countChanged) return
    this.save()
    const truncated = this.announced.size > this.o.maxMembers
    const frame = truncated ? encodePresenceDiff(this.o.room, count, [], [], true) : encodePresenceDiff(this.o.room, count, joins, leaves, false)
    for (const m of this.watchers) if (!m.closed) this.o.send(m, frame)
  }

  /** Tell the other instances this instance's connections of the subs that changed here since the last tick. */
  private publish(): void {
    const changes = new Map<string, RosterShare>()
    for (const sub of this.outgoing) {
      const e = this.current.get(sub)
      const share: RosterShare = { connections: e?.connections ?? 0 }
      if (e !== undefined && e.connections > 0 && e.info !== undefined) share.info = e.info
      changes.set(sub, share)
    }
    this.outgoing.clear()
    this.remote?.publish(changes)
  }
}
