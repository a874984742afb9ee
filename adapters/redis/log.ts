/**
 * One room's log on one instance, backed by Redis: ordered delivery. Redis
 * owns the sequence and history; this object owns "how far have this
 * instance's members got" (`deliveredSeq`) and hands entries to the room
 * strictly as deliveredSeq+1, filling any gap from history, so a resubscribe
 * or a lost pub/sub message never shows up as a gap, a duplicate or a
 * reordering. Member counts across instances are presence.ts's.
 */
import { Unavailable, replayFrom } from '../../src/index.ts'
import type { Draft, Entry, Head, Replay, RoomLog, RoomSink } from '../../src/index.ts'
import { RoomPresence } from './presence.ts'
import type { Beat, RoomListener, RoomStore } from './room-store.ts'
import type { RoomKeys } from './wire.ts'
import { roomKeys } from './wire.ts'

interface Waiter {
  resolve: () => void
  reject: (err: unknown) => void
}

/** The Redis-backed RoomLog of one room on this instance. */
export class RedisLog implements RoomLog, RoomListener {
  readonly keys: RoomKeys
  private readonly presence: RoomPresence
  /** The epoch `deliveredSeq` belongs to; undefined until the first sync placed us. */
  private epoch: string | undefined
  /** The seq of the last entry handed to the room. */
  private deliveredSeq = 0
  /** Entries that arrived while syncing, or after a gap, in arrival order. */
  private queue: { epoch: string; entry: Entry }[] = []
  private syncing: Promise<void> | null = null
  /** Set when what we delivered may be behind Redis (a gap, a new epoch): the running sync goes round again. */
  private resyncNeeded = false
  /** Calls waiting until this log is placed in the sequence and not syncing. */
  private settleWaiters: Waiter[] = []
  /** Replays waiting for this instance's delivery to reach a seq. */
  private seqWaiters: { seq: number; resolve: () => void }[] = []
  /** Redis's seq at the previous heartbeat: if `deliveredSeq` has not reached it by the next, pub/sub lost something. */
  private beatSeq = 0
  private closed = false
  /** Where the first sync placed this log, before delivering anything: the join point of members who came first. */
  private startPoint: Head = { seq: 0, epoch: '' }

  constructor(
    readonly room: string,
    private readonly sink: RoomSink,
    private readonly store: RoomStore,
  ) {
    this.keys = roomKeys(store.prefix, room)
    this.presence = new RoomPresence(store, this.keys, () => sink.membersChanged())
    store.open(this)
  }

  async head(): Promise<Head> {
    await this.settled()
    let b = await this.beat()
    if (b.epoch !== this.epoch) {
      // The room's history was lost since we last looked: settle on the new epoch first.
      await this.sync()
      b = await this.beat()
    }
    return { seq: b.seq, epoch: b.epoch }
  }

  ready(): Promise<void> {
    return this.epoch === undefined ? this.settled() : this.store.up ? Promise.resolve() : Promise.reject(new Unavailable('redis unreachable'))
  }

  joinPoint(): Promise<Head> {
    if (!this.store.up) return Promise.reject(new Unavailable('redis unreachable'))
    // Everything after what this instance has delivered reaches the new member through `deliver`.
    if (this.epoch !== undefined) return Promise.resolve({ seq: this.deliveredSeq, epoch: this.epoch })
    return this.settled().then(() => this.startPoint)
  }

  async append(draft: Draft): Promise<number> {
    // A member's own publish must come after its join point, which a new log only learns once placed.
    if (this.epoch === undefined) await this.settled()
    return this.store.append(this.keys, draft)
  }

  async replay(since: number, epoch: string | undefined): Promise<Replay> {
    await this.settled()
    let r = await this.store.range(this.keys, since, epoch)
    if (r.epoch !== this.epoch) {
      await this.sync()
      r = await this.store.range(this.keys, since, epoch)
    }
    // The room sends this replay, then goes live. Entries up to r.seq still on their way here must reach
    // the room before that, while it sets them aside for this member, or the member would get them twice.
    await this.delivered(r.seq)
    return replayFrom(r.entries, r, since, epoch)
  }

  members(local: number): number {
    return this.presence.members(local)
  }

  close(): void {
    this.closed = true
    this.presence.close()
    this.rejectWaiters(new Unavailable('room closed'))
    this.store.release(this)
    // Withdraw this instance's count.
    if (this.store.up) this.presence.announce()
  }

  // ---- what the store reports (RoomListener) ----

  onEntry(epoch: string, entry: Entry): void {
    if (this.syncing === null && this.epoch !== undefined && epoch === this.epoch) {
      if (entry.seq === this.deliveredSeq + 1) return this.handOver(entry)
      if (entry.seq <= this.deliveredSeq) return // a duplicate after a resubscribe
    }
    this.queue.push({ epoch, entry })
    // While a sync runs, its drain takes the queue; otherwise this entry is a gap or a new epoch.
    if (this.syncing === null && this.epoch !== undefined) void this.sync().catch(() => {})
  }

  onPresence(instance: string, count: number, at: number): void {
    this.presence.heard(instance, count, at)
  }

  onSubscribed(): void {
    this.sync().catch(() => {})
    this.presence.announce()
  }

  onHeartbeat(): void {
    const before = this.beatSeq
    this.beat().then(
      (b) => {
        this.beatSeq = b.seq
        if (this.syncing !== null || this.epoch === undefined) return
        // A new epoch, or entries Redis had a whole heartbeat ago that never arrived.
        if (b.epoch !== this.epoch || this.deliveredSeq < before) void this.sync().catch(() => {})
      },
      () => {},
    )
  }

  onDown(): void {
    this.rejectWaiters(new Unavailable('redis unreachable'))
  }

  /**
   * Bring `deliveredSeq` up to Redis: on first use take its head; after a gap
   * replay the missing entries from history; if history no longer has them or
   * the epoch changed, tell the room it lost its place. Subscribed first, so
   * nothing published after the read is missed.
   */
  sync(): Promise<void> {
    this.resyncNeeded = true
    // Waiters are settled only once `syncing` is cleared, so none can slip in between and wait forever.
    this.syncing ??= this.runSync().then(
      () => {
        this.syncing = null
        for (const w of this.settleWaiters.splice(0)) w.resolve()
      },
      (err) => {
        this.syncing = null
        this.resyncNeeded = true
        this.rejectWaiters(err instanceof Unavailable ? err : new Unavailable('redis unreachable'))
        throw err
      },
    )
    return this.syncing
  }

  // ---- internals ----

  /** A heartbeat read of the room (without announcing), its counts taken into presence. */
  private async beat(): Promise<Beat> {
    const b = await this.store.beat(this.keys, this.presence.local, false)
    this.presence.apply(b)
    return b
  }

  private async runSync(): Promise<void> {
    while (this.resyncNeeded && !this.closed) {
      this.resyncNeeded = false
      if (this.epoch === undefined) {
        const b = await this.beat()
        this.epoch = b.epoch
        this.deliveredSeq = b.seq
        this.beatSeq = b.seq
        this.startPoint = { seq: b.seq, epoch: b.epoch }
      } else {
        const r = await this.store.range(this.keys, this.deliveredSeq, this.epoch)
        if (r.epoch !== this.epoch) {
          this.epoch = r.epoch
          this.deliveredSeq = r.seq
          this.sink.lost()
        } else {
          for (const e of r.entries) {
            if (e.seq === this.deliveredSeq + 1) this.handOver(e)
          }
          if (this.deliveredSeq < r.seq) {
            // History no longer reaches back to what we missed.
            this.deliveredSeq = r.seq
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
    for (; i < this.queue.length; i++) {
      const queued = this.queue[i]
      if (queued === undefined) break
      const { epoch, entry } = queued
      // Another epoch here is older than the one we just read (or newer and caught by the heartbeat): drop it.
      if (epoch !== this.epoch || entry.seq <= this.deliveredSeq) continue
      if (entry.seq !== this.deliveredSeq + 1) {
        this.resyncNeeded = true
        break
      }
      this.handOver(entry)
    }
    this.queue = i === this.queue.length ? [] : this.queue.slice(i)
  }

  /** Give the room the next entry. */
  private handOver(entry: Entry): void {
    this.deliveredSeq = entry.seq
    this.sink.deliver(entry)
    if (this.seqWaiters.length > 0) this.releaseSeqWaiters()
  }

  /** Resolve once `deliveredSeq` reaches `seq`: over pub/sub if it comes soon, else fetched from history by a sync. */
  private async delivered(seq: number): Promise<void> {
    if (this.deliveredSeq >= seq) return
    const arrived = new Promise<void>((resolve) => this.seqWaiters.push({ seq, resolve }))
    const soon = await Promise.race([arrived.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 50))])
    if (soon) return
    // After a sync, `deliveredSeq` is at least Redis's seq when it read, which no waiter's seq exceeds (or the room was lost).
    await this.sync()
    this.releaseSeqWaiters(true)
  }

  /** Release replays whose seq was reached (all of them when `all`: the sequence was re-read or lost). */
  private releaseSeqWaiters(all = false): void {
    const still: { seq: number; resolve: () => void }[] = []
    for (const w of this.seqWaiters) (all || this.deliveredSeq >= w.seq ? w.resolve() : still.push(w))
    this.seqWaiters = still
  }

  /** Wait until this log is placed in the sequence; Unavailable while Redis is down. */
  private settled(): Promise<void> {
    if (!this.store.up) return Promise.reject(new Unavailable('redis unreachable'))
    if (this.epoch !== undefined && this.syncing === null) return Promise.resolve()
    return new Promise((resolve, reject) => this.settleWaiters.push({ resolve, reject }))
  }

  private rejectWaiters(err: unknown): void {
    for (const w of this.settleWaiters.splice(0)) w.reject(err)
  }
}
