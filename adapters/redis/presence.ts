/**
 * One room's member count across instances: this instance's own count, which
 * it announces, and the others', learnt from their announcements ("p"
 * messages) and from each heartbeat's read of the presence hash. Counts carry
 * Redis's clock, so an older reading never overwrites a newer one.
 */
import type { Beat, RoomStore } from './room-store.ts'
import type { RoomRoster } from './roster.ts'
import type { RoomKeys } from './wire.ts'

/** The member counts of one room on every instance, as this instance knows them. */
export class RoomPresence {
  /** This instance's members in the room. */
  local = 0
  private announceQueued = false
  /** Other instances' member counts, each with the Redis time it was true at. */
  private readonly remote = new Map<string, { count: number; at: number }>()
  private remoteSum = 0
  private closed = false

  constructor(
    private readonly store: RoomStore,
    private readonly keys: RoomKeys,
    /** The count across instances changed. */
    private readonly changed: () => void,
    /** The room's roster across instances, which takes in what each heartbeat read. */
    private readonly roster?: RoomRoster,
  ) {}

  /** This instance's count is now `local`; returns the count across all instances. */
  members(local: number): number {
    if (local !== this.local) {
      this.local = local
      this.queueAnnounce()
    }
    return local + this.remoteSum
  }

  /** Another instance announced its count at Redis time `at`. */
  heard(instance: string, count: number, at: number): void {
    if (instance === this.store.instanceId) return
    const known = this.remote.get(instance)
    if (known !== undefined && known.at >= at) return
    this.remote.set(instance, { count, at })
    this.recount()
  }

  /** Take in what a heartbeat read: every live instance's count at `b.at`. */
  apply(b: Beat): void {
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

  /** Announce this instance's count now (after a reconnect, when it changed, or 0 once the room closed). */
  announce(): void {
    if (this.closed && this.local !== 0) return
    const turn = this.roster?.turn ?? 0
    this.store.beat(this.keys, this.local, true).then(
      (b) => {
        this.apply(b)
        this.roster?.applyBeat(b, turn)
      },
      () => {},
    )
  }

  /** The room closed on this instance: its count is 0, and nobody is told of changes any more. */
  close(): void {
    this.closed = true
    this.local = 0
  }

  private queueAnnounce(): void {
    if (this.announceQueued) return
    this.announceQueued = true
    // Coalesce the joins and leaves of one tick into one announcement.
    setTimeout(() => {
      this.announceQueued = false
      this.announce()
    }, 0)
  }

  private recount(): void {
    let sum = 0
    for (const { count } of this.remote.values()) sum += count
    if (sum === this.remoteSum) return
    this.remoteSum = sum
    if (!this.closed) this.changed()
  }
}
