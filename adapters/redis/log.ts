/**
 * One room's log on one instance, backed by Redis: ordered delivery. Redis
 * owns the sequence and history; this object owns "how far have this
 * instance's members got" (`deliveredSeq`) and hands entries to the room
 * strictly as deliveredSeq+1, filling any gap from history, so a resubscribe
 * or a lost pub/sub message never shows up as a gap, a duplicate or a
 * reordering. Where Redis confirms appends (a cluster: a replica holds them),
 * an entry this instance's member published is handed over only once its
 * append is confirmed, since its ack goes out with it; unconfirmed, it goes
 * without the ack. If Redis ever hands out a seq again that this instance
 * delivered as another entry (a failover lost the end of history), the room
 * gets a new epoch and its members resync; an entry at such a seq that
 * history does not hold (a stale master's) is dropped. Member counts are
 * presence.ts's, the v2 roster's other instances roster.ts's.
 */

import type { Appended, Draft, Entry, Head, Once, Replay, RoomLog, RoomSink } from '../../src/index.ts'
import { Unavailable, entryBytes, replayFrom } from '../../src/index.ts'
import { RoomPresence } from './presence.ts'
import type { Beat, RoomListener, RoomStore } from './room-store.ts'
import { RoomRoster } from './roster.ts'
import type { RoomKeys } from './wire.ts'
import { roomKeys } from './wire.ts'

interface Waiter {
  resolve: () => void
  reject: (err: unknown) => void
}

/** How many delivered entries are remembered (by seq) to tell a duplicate from a seq handed out again. */
const REMEMBERED = 256

/** Reads of history to settle a conflicting entry before it is taken as a rollback, this far apart. */
const CONFLICT_READS = 20
const CONFLICT_RETRY_MS = 250

/** What tells two entries with one seq apart: a seq handed out again after a rollback carries another entry. */
function fingerprint(e: Entry): string {
  return `${e.ts} ${e.kind} ${entryBytes(e)} ${e.origin ?? ''} ${e.id ?? ''} ${e.from ?? ''}`
}

/** The key of a member's publish (its connection and its id), which its entry carries back. */
function ownKey(e: { origin?: string; id?: string }): string | undefined {
  return e.origin === undefined || e.id === undefined ? undefined : `${e.origin} ${e.id}`
}

/** The Redis-backed RoomLog of one room on this instance. */
export class RedisLog implements RoomLog, RoomListener {
  readonly keys: RoomKeys
  private readonly presence: RoomPresence
  /** The other instances' part of the room's v2 roster (the room folds it in), and the writer of this one's. */
  readonly roster: RoomRoster
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
  /** The highest seq an append on this instance was acked with (in this epoch). */
  private appendedSeq = 0
  /** Where the first sync placed this log, before delivering anything: the join point of members who came first. */
  private startPoint: Head = { seq: 0, epoch: '' }
  /** The seq of the last entry the room has been given (behind `deliveredSeq` while entries are held). */
  private givenSeq = 0
  /** Entries in order, from the first one whose append (by a member here) is not confirmed yet: the room gets them once it is. */
  private held: Entry[] = []
  /** Members' publishes in flight here, by ownKey, where Redis confirms appends. */
  private readonly pendingOwn = new Set<string>()
  /** Members' publishes whose append was not confirmed: their entries go to the room without the ack. */
  private readonly unconfirmedOwn = new Set<string>()
  /** Fingerprints of the last entries delivered, by seq. */
  private readonly recent = new Map<number, string>()
  /** A rebase (new epoch after a rollback) is under way. */
  private rebasing = false
  /** History is being read to settle an entry that came at a seq delivered as another one. */
  private checking = false
  /** The lowest seq of a conflict that came while history was being read. */
  private checkAgain: number | undefined

  constructor(
    readonly room: string,
    private readonly sink: RoomSink,
    private readonly store: RoomStore,
  ) {
    this.keys = roomKeys(store.prefix, room)
    this.roster = new RoomRoster(store, this, (subs) => sink.rosterChanged?.(subs))
    this.presence = new RoomPresence(store, this.keys, () => sink.membersChanged(), this.roster)
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
    return this.epoch === undefined ? this.settled() : this.store.isUp(this) ? Promise.resolve() : Promise.reject(new Unavailable('redis unreachable'))
  }

  joinPoint(): Promise<Head> {
    if (!this.store.isUp(this)) return Promise.reject(new Unavailable('redis unreachable'))
    // Everything after what the room has been given reaches the new member through `deliver` (held entries too).
    if (this.epoch !== undefined) {
      if (this.givenSeq >= this.appendedSeq) return Promise.resolve({ seq: this.givenSeq, epoch: this.epoch })
      // A publish this instance acked is not delivered here yet (on a cluster the ack can come first): a member
      // joining after that ack must not be told a head before it, so wait until it is (read your writes).
      return this.delivered(this.appendedSeq).then(() => ({ seq: this.givenSeq, epoch: this.epoch ?? '' }))
    }
    return this.settled().then(() => this.startPoint)
  }

  append(draft: Draft): Promise<number> {
    return this.appendBy(
      draft,
      () => this.store.append(this.keys, draft),
      (seq) => seq,
    )
  }

  appendOnce(draft: Draft, once: Once): Promise<Appended> {
    // A repeat's seq is its first append's: whichever instance made that, it is delivered here in order.
    return this.appendBy(
      draft,
      () => this.store.appendOnce(this.keys, draft, once),
      (a) => a.seq,
    )
  }

  /** Append through `run` (whose answer names the seq by `seqOf`), as `append` describes. */
  private async appendBy<T>(draft: Draft, run: () => Promise<T>, seqOf: (answer: T) => number): Promise<T> {
    // A member's own publish must come after its join point, which a new log only learns once placed.
    if (this.epoch === undefined) await this.settled()
    const own = this.store.confirmsAppends ? ownKey(draft) : undefined
    if (own === undefined) {
      const answer = await run()
      if (seqOf(answer) > this.appendedSeq) this.appendedSeq = seqOf(answer)
      return answer
    }
    // Its entry may come back before the confirmation: the room gets it (and its ack) only after.
    this.pendingOwn.add(own)
    try {
      const answer = await run()
      if (seqOf(answer) > this.appendedSeq) this.appendedSeq = seqOf(answer)
      // Appended by this try, not a repeat: its entry carries this ack, whatever an earlier try of the same
      // publish was told (one that never ran, or did not run after all, left no entry of its own).
      if (!(answer as Partial<Appended>).duplicate) this.unconfirmedOwn.delete(own)
      return answer
    } catch (err) {
      // Not confirmed (or not known to have run): if the entry comes, it comes without an ack. Refused before
      // Redis ran it (Unavailable), no entry comes of this try.
      if (!(err instanceof Unavailable)) this.unconfirmedOwn.add(own)
      if (this.unconfirmedOwn.size > REMEMBERED) this.unconfirmedOwn.delete(this.unconfirmedOwn.values().next().value as string)
      throw err
    } finally {
      this.pendingOwn.delete(own)
      this.release()
    }
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
    this.roster.close()
    this.rejectWaiters(new Unavailable('room closed'))
    this.store.release(this)
    // Withdraw this instance's count.
    if (this.store.isUp(this)) this.presence.announce()
  }

  // ---- what the store reports (RoomListener) ----

  onEntry(epoch: string, entry: Entry): void {
    if (this.syncing === null && this.epoch !== undefined && epoch === this.epoch) {
      if (entry.seq === this.deliveredSeq + 1) return this.handOver(entry)
      // A duplicate after a resubscribe, or the seq handed out again (a rollback).
      if (entry.seq <= this.deliveredSeq) return this.checkDuplicate(entry)
    }
    this.queue.push({ epoch, entry })
    // While a sync runs, its drain takes the queue; otherwise this entry is a gap or a new epoch.
    if (this.syncing === null && this.epoch !== undefined) void this.sync().catch(() => {})
  }

  onPresence(instance: string, count: number, at: number): void {
    this.presence.heard(instance, count, at)
    // No members there any more: none of its subs either.
    if (count === 0) this.roster.gone(instance)
  }

  onRoster(instance: string, version: number, changes: string): void {
    this.roster.heard(instance, version, changes)
  }

  onSubscribed(): void {
    this.sync().catch(() => {})
    // What this instance wrote may have expired while Redis was away: write its part again.
    this.roster.resync()
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
    const turn = this.roster.turn
    const b = await this.store.beat(this.keys, this.presence.local, false)
    this.presence.apply(b)
    this.roster.applyBeat(b, turn)
    return b
  }

  private async runSync(): Promise<void> {
    while (this.resyncNeeded && !this.closed) {
      this.resyncNeeded = false
      if (this.epoch === undefined) {
        // The head as a range read gives it (no entries after it): on a cluster a replica holds it, so
        // no failover can hand out a seq at or below it again.
        const r = await this.store.range(this.keys, Number.MAX_SAFE_INTEGER, undefined)
        this.restart(r.epoch, r.seq)
        this.beatSeq = r.seq
        this.startPoint = { seq: r.seq, epoch: r.epoch }
      } else {
        // From a little before what we delivered, to see that history still has it.
        const back = Math.min(this.deliveredSeq, 1)
        const r = await this.store.range(this.keys, this.deliveredSeq - back, this.epoch)
        if (r.epoch !== this.epoch) {
          this.restart(r.epoch, r.seq)
          this.sink.lost()
        } else if (r.seq < this.deliveredSeq || r.entries.some((e) => e.seq <= this.deliveredSeq && this.conflicts(e))) {
          // Redis is behind what we delivered, or has another entry at a seq we delivered: a rollback.
          this.rolledBack()
        } else {
          for (const e of r.entries) {
            if (e.seq === this.deliveredSeq + 1) this.handOver(e)
          }
          if (this.deliveredSeq < r.seq) {
            // History no longer reaches back to what we missed.
            this.restart(r.epoch, r.seq)
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
      if (epoch !== this.epoch) continue
      if (entry.seq <= this.deliveredSeq) {
        this.checkDuplicate(entry)
        continue
      }
      if (entry.seq !== this.deliveredSeq + 1) {
        this.resyncNeeded = true
        break
      }
      this.handOver(entry)
    }
    this.queue = i === this.queue.length ? [] : this.queue.slice(i)
  }

  /** The next entry in the sequence: the room gets it now, or once the member's publish before it is confirmed. */
  private handOver(entry: Entry): void {
    this.deliveredSeq = entry.seq
    this.recent.set(entry.seq, fingerprint(entry))
    if (this.recent.size > REMEMBERED) this.recent.delete(entry.seq - REMEMBERED)
    const own = ownKey(entry)
    if (this.held.length > 0 || (own !== undefined && this.pendingOwn.has(own))) this.held.push(entry)
    else this.give(entry)
    if (this.seqWaiters.length > 0) this.releaseSeqWaiters()
  }

  /** Hand the room one entry; a member's publish that was not confirmed goes without its ack (no id). */
  private give(entry: Entry): void {
    this.givenSeq = entry.seq
    const own = this.unconfirmedOwn.size > 0 ? ownKey(entry) : undefined
    if (own !== undefined && this.unconfirmedOwn.delete(own)) {
      const { id: _unacked, ...rest } = entry
      this.sink.deliver(rest)
    } else this.sink.deliver(entry)
  }

  /** Give the room the held entries up to the next one whose publish is still unconfirmed. */
  private release(): void {
    let i = 0
    for (; i < this.held.length; i++) {
      const e = this.held[i] as Entry
      const own = ownKey(e)
      if (own !== undefined && this.pendingOwn.has(own)) break
      this.give(e)
    }
    this.held = i === this.held.length ? [] : this.held.slice(i)
  }

  /** Whether `e` is another entry than the one delivered at its seq (when that one is still remembered). */
  private conflicts(e: Entry): boolean {
    const known = this.recent.get(e.seq)
    return known !== undefined && known !== fingerprint(e)
  }

  /** An entry at a seq already delivered: a duplicate to drop, or another entry there, which history settles. */
  private checkDuplicate(entry: Entry): void {
    if (this.conflicts(entry)) this.checkConflict(entry.seq)
  }

  /**
   * Another entry came at `seq`, which this instance delivered: history (on a cluster read back with a
   * replica's confirmation) says which stands. If it holds what was delivered, the other is a stale master's,
   * dropped: a master frozen past the node timeout runs what queued up in its sockets when it wakes, before it
   * hears it was replaced, and publishes it. Else the sequence was rolled back (or the read failed): rebase.
   */
  private checkConflict(seq: number, attempt = 0): void {
    if (this.rebasing || this.epoch === undefined || this.closed) {
      if (attempt > 0) this.checking = false
      return
    }
    if (this.checking && attempt === 0) {
      // One read at a time; a conflict before the one being read is read once that is done.
      this.checkAgain = Math.min(this.checkAgain ?? seq, seq)
      return
    }
    this.checking = true
    const epoch = this.epoch
    // Entries keep coming while history is read: it must hold what was delivered before the read, not after.
    const upTo = this.deliveredSeq
    this.store
      .range(this.keys, seq - 1, epoch)
      .then(
        (r) => {
          if (r.epoch !== epoch || this.epoch !== epoch) return void this.sync().catch(() => {})
          if (r.seq < upTo || r.entries.some((e) => e.seq <= upTo && this.conflicts(e))) this.rolledBack()
        },
        () => {
          // History unreadable just now (the shard is failing over: the read went to the old master, whose WAIT
          // fails): ask again for a while, then take it as a rollback.
          if (attempt >= CONFLICT_READS) return this.rolledBack()
          setTimeout(() => this.checkConflict(seq, attempt + 1), CONFLICT_RETRY_MS)
          return 'again'
        },
      )
      .then((next) => {
        if (next === 'again') return
        this.checking = false
        const again = this.checkAgain
        this.checkAgain = undefined
        if (again !== undefined && again < seq) this.checkConflict(again)
      })
  }

  /**
   * Redis handed out a seq this instance delivered as another entry (a failover lost the end of history):
   * seqs no longer name what members saw. Give the room a new epoch, which every instance takes as lost
   * history: members are closed (1012) and resume with complete:false.
   */
  private rolledBack(): void {
    if (this.rebasing || this.epoch === undefined) return
    this.rebasing = true
    this.store
      .rebase(this.keys, this.epoch)
      .then(
        () => this.sync(),
        () => {},
      )
      .catch(() => {})
      .finally(() => {
        this.rebasing = false
      })
  }

  /** Start over in `epoch` at `seq`: nothing held, remembered or acked carries over. */
  private restart(epoch: string, seq: number): void {
    this.epoch = epoch
    this.deliveredSeq = seq
    this.givenSeq = seq
    this.appendedSeq = 0
    this.recent.clear()
    // Held entries belong to the old numbering; the members they were for are being closed.
    this.held = []
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
    for (const w of this.seqWaiters) all || this.deliveredSeq >= w.seq ? w.resolve() : still.push(w)
    this.seqWaiters = still
  }

  /** Wait until this log is placed in the sequence; Unavailable while Redis is down. */
  private settled(): Promise<void> {
    if (!this.store.isUp(this)) return Promise.reject(new Unavailable('redis unreachable'))
    if (this.epoch !== undefined && this.syncing === null) return Promise.resolve()
    return new Promise((resolve, reject) => this.settleWaiters.push({ resolve, reject }))
  }

  private rejectWaiters(err: unknown): void {
    for (const w of this.settleWaiters.splice(0)) w.reject(err)
  }
}
