/**
 * One room's log on one instance, backed by Redis. Redis owns the sequence
 * and history; this object owns "how far have this instance's members got"
 * (`last`) and hands entries to the room strictly as last+1, filling any gap
 * from history, so a resubscribe or a lost pub/sub message never shows up as
 * a gap, a duplicate or a reordering.
 */

import type { Draft, Entry, Head, Replay, RoomLog, RoomSink } from '../../src/index.ts'
import { Unavailable, replayFrom } from '../../src/index.ts'
import type { Beat, RedisBackend } from './backend.ts'
import type { RoomKeys } from './wire.ts'
import { roomKeys } from './wire.ts'

interface Waiter {
  resolve: () => void
  reject: (err: unknown) => void
}

/** The Redis-backed RoomLog of one room on this instance. */
export class RedisLog implements RoomLog {
  readonly keys: RoomKeys
  /** The epoch `last` belongs to; undefined until the first sync placed us. */
  private epoch: string | undefined
  /** The seq of the last entry handed to the room. */
  private last = 0
  /** Entries that arrived while syncing, or after a gap, in arrival order. */
  private queue: { epoch: string; entry: Entry }[] = []
  private syncing: Promise<void> | null = null
  private stale = false
  private waiters: Waiter[] = []
  /** Replays waiting for this instance's delivery to reach a seq. */
  private reach: { seq: number; resolve: () => void }[] = []
  /** Redis's seq at the previous heartbeat: if `last` has not reached it by the next, pub/sub lost something. */
  private beatSeq = 0
  private local = 0
  private reportQueued = false
  /** Other instances' member counts, each with the Redis time it was true at. */
  private readonly remote = new Map<string, { count: number; at: number }>()
  private remoteSum = 0
  private closed = false
  /** Where the first sync placed this log, before delivering anything: the join point of members who came first. */
  private placed: Head = { seq: 0, epoch: '' }

  constructor(
    readonly room: string,
    private readonly sink: RoomSink,
    private readonly backend: RedisBackend,
  ) {
    this.keys = roomKeys(backend.prefix, room)
    backend.open(this)
  }

  async head(): Promise<Head> {
    await this.settled()
    let b = await this.backend.beat(this, this.local, false)
    this.applyBeat(b)
    if (b.epoch !== this.epoch) {
      // The room's history was lost since we last looked: settle on the new epoch first.
      await this.sync()
      b = await this.backend.beat(this, this.local, false)
    }
    return { seq: b.seq, epoch: b.epoch }
  }

  ready(): Promise<void> {
    return this.epoch === undefined ? this.settled() : this.backend.up ? Promise.resolve() : Promise.reject(new Unavailable('redis unreachable'))
  }

  joinPoint(): Promise<Head> {
    if (!this.backend.up) return Promise.reject(new Unavailable('redis unreachable'))
    // Everything after what this instance has delivered reaches the new member through `deliver`.
    if (this.epoch !== undefined) return Promise.resolve({ seq: this.last, epoch: this.epoch })
    return this.settled().then(() => this.placed)
  }

  async append(draft: Draft): Promise<number> {
    // A member's own publish must come after its join point, which a new log only learns once placed.
    if (this.epoch === undefined) await this.settled()
    return this.backend.append(this, draft)
  }

  async replay(since: number, epoch: string | undefined): Promise<Replay> {
    await this.settled()
    let r = await this.backend.range(this, since, epoch)
    if (r.epoch !== this.epoch) {
      await this.sync()
      r = await this.backend.range(this, since, epoch)
    }
    // The room sends this replay, then goes live. Entries up to r.seq still on their way here must reach
    // the room before that, while it sets them aside for this member, or the member would get them twice.
    await this.reached(r.seq)
    return replayFrom(r.entries, r, since, epoch)
  }

  members(local: number): number {
    if (local !== this.local) {
      this.local = local
      this.queueReport()
    }
    return local + this.remoteSum
  }

  close(): void {
    this.closed = true
    this.local = 0
    this.rejectWaiters(new Unavailable('room closed'))
    this.backend.release(this)
  }

  // ---- called by the backend ----

  /** An entry arrived on the room's channel. */
  onEntry(epoch: string, entry: Entry): void {
    if (this.syncing === null && this.epoch !== undefined && epoch === this.epoch) {
      if (entry.seq === this.last + 1) return this.hand(entry)
      if (entry.seq <= this.last) return // a duplicate after a resubscribe
    }
    this.queue.push({ epoch, entry })
    // While a sync runs, its drain takes the queue; otherwise this entry is a gap or a new epoch.
    if (this.syncing === null && this.epoch !== undefined) void this.sync().catch(() => {})
  }

  /** Another instance announced its member count. */
  onPresence(instance: string, count: number, at: number): void {
    if (instance === this.backend.instanceId) return
    const known = this.remote.get(instance)
    if (known !== undefined && known.at >= at) return
    this.remote.set(instance, { count, at })
    this.recount()
  }

  /** Periodic heartbeat: keep our count alive, learn others', and check we have not missed anything. */
  heartbeat(): void {
    const before = this.beatSeq
    this.backend.beat(this, this.local, false).then(
      (b) => {
        this.applyBeat(b)
        this.beatSeq = b.seq
        if (this.syncing !== null || this.epoch === undefined) return
        // A new epoch, or entries Redis had a whole heartbeat ago that never arrived.
        if (b.epoch !== this.epoch || this.last < before) void this.sync().catch(() => {})
      },
      () => {},
    )
  }

  /** Announce our count now (after a reconnect, or when it changed). */
  report(): void {
    if (this.closed && this.local !== 0) return
    this.backend.beat(this, this.local, true).then(
      (b) => this.applyBeat(b),
      () => {},
    )
  }

  /** Redis went away: nobody may wait for it. */
  down(): void {
    this.rejectWaiters(new Unavailable('redis unreachable'))
  }

  /**
   * Bring `last` up to Redis: on first use take its head; after a gap replay
   * the missing entries from history; if history no longer has them or the
   * epoch changed, tell the room it lost its place. Subscribed first, so
   * nothing published after the read is missed.
   */
  sync(): Promise<void> {
    this.stale = true
    // Waiters are settled only once `syncing` is cleared, so none can slip in between and wait forever.
    this.syncing ??= this.runSync().then(
      () => {
        this.syncing = null
        for (const w of this.waiters.splice(0)) w.resolve()
      },
      (err) => {
        this.syncing = null
        this.stale = true
        this.rejectWaiters(err instanceof Unavailable ? err : new Unavailable('redis unreachable'))
        throw err
      },
    )
    return this.syncing
  }

  // ---- internals ----

  private async runSync(): Promise<void> {
    while (this.stale && !this.closed) {
      this.stale = false
      if (this.epoch === undefined) {
        const b = await this.backend.beat(this, this.local, false)
        this.applyBeat(b)
        this.epoch = b.epoch
        this.last = b.seq
        this.beatSeq = b.seq
        this.placed = { seq: b.seq, epoch: b.epoch }
      } else {
        const r = await this.backend.range(this, this.last, this.epoch)
        if (r.epoch !== this.epoch) {
          this.epoch = r.epoch
          this.last = r.seq
          this.sink.lost()
        } else {
          for (const e of r.entries) {
            if (e.seq === this.last + 1) this.hand(e)
          }
          if (this.last < r.seq) {
            // History no longer reaches back to what we missed.
            this.last = r.seq
            this.sink.lost()
          }
        }
      }
      this.drain()
    }
  }

  /** Hand over queued entries that continue the sequence; a gap or another epoch asks for another sync. */
  private drain(): void {
    let i = 0
    for (const { epoch, entry } of this.queue) {
      // Another epoch here is older than the one we just read (or newer and caught by the heartbeat): drop it.
      if (epoch === this.epoch && entry.seq > this.last) {
        if (entry.seq !== this.last + 1) {
          this.stale = true
          break
        }
        this.hand(entry)
      }
      i++
    }
    this.queue = i === this.queue.length ? [] : this.queue.slice(i)
  }

  /** Give the room the next entry. */
  private hand(entry: Entry): void {
    this.last = entry.seq
    this.sink.deliver(entry)
    if (this.reach.length > 0) this.wake()
  }

  /** Resolve once `last` reaches `seq`: over pub/sub if it comes soon, else fetched from history by a sync. */
  private async reached(seq: number): Promise<void> {
    if (this.last >= seq) return
    const arrived = new Promise<void>((resolve) => this.reach.push({ seq, resolve }))
    const soon = await Promise.race([arrived.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 50))])
    if (soon) return
    // After a sync, `last` is at least Redis's seq when it read, which no waiter's seq exceeds (or the room was lost).
    await this.sync()
    this.wake(true)
  }

  /** Release replays whose seq was reached (all of them when `all`: the sequence was re-read or lost). */
  private wake(all = false): void {
    const still: { seq: number; resolve: () => void }[] = []
    for (const w of this.reach) all || this.last >= w.seq ? w.resolve() : still.push(w)
    this.reach = still
  }

  /** Wait until this log is placed in the sequence; Unavailable while Redis is down. */
  private settled(): Promise<void> {
    if (!this.backend.up) return Promise.reject(new Unavailable('redis unreachable'))
    if (this.epoch !== undefined && this.syncing === null) return Promise.resolve()
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }))
  }

  private rejectWaiters(err: unknown): void {
    for (const w of this.waiters.splice(0)) w.reject(err)
  }

  private queueReport(): void {
    if (this.reportQueued) return
    this.reportQueued = true
    // Coalesce the joins and leaves of one tick into one announcement.
    setTimeout(() => {
      this.reportQueued = false
      this.report()
    }, 0)
  }

  private applyBeat(b: Beat): void {
    const seen = new Set<string>()
    for (const [id, count] of b.others) {
      seen.add(id)
      const known = this.remote.get(id)
      if (known === undefined || known.at < b.at) this.remote.set(id, { count, at: b.at })
    }
    // An instance missing from Redis at `at` has left or died, unless it spoke since.
    for (const [id, known] of this.remote) if (!seen.has(id) && known.at < b.at) this.remote.delete(id)
    this.recount()
  }

  private recount(): void {
    let sum = 0
    for (const { count } of this.remote.values()) sum += count
    if (sum === this.remoteSum) return
    this.remoteSum = sum
    if (!this.closed) this.sink.membersChanged()
  }
}
