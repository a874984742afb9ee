/**
 * The room's member count as json members hear it: coalesced to at most one
 * `presence` broadcast per interval (a join storm of N costs O(N) frames, not
 * O(N^2)), and no member hears the same count twice.
 */
import type { Clock } from '../config/clock.ts'
import { encodePresence } from '../wire/encode.ts'
import type { SendTo } from './delivery.ts'
import type { Member } from './member.ts'

/** One room's presence announcements. */
export class Presence {
  private timer: unknown = undefined
  /** The count last broadcast, so an unchanged count is not sent again. */
  private lastCount = -1

  constructor(
    private readonly room: string,
    private readonly clock: Clock,
    private readonly intervalMs: number,
    private readonly members: ReadonlySet<Member>,
    /** The count across instances (the room's log knows it). */
    private readonly count: () => number,
    private readonly send: SendTo,
  ) {}

  /** The count may have changed: tell the live json members once this interval is over. */
  changed(): void {
    if (this.timer !== undefined) return
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined
      this.broadcast()
    }, this.intervalMs)
  }

  /** Take `count` as already told to everyone (members restored after hibernation heard it before). */
  known(count: number): void {
    this.lastCount = count
  }

  /** Tell a json member that just went live the count as it is now. */
  tell(m: Member): void {
    this.tellOne(m, this.count(), undefined)
  }

  /** Stop the pending broadcast. */
  dispose(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer)
    this.timer = undefined
  }

  private broadcast(): void {
    const count = this.count()
    if (count === this.lastCount) return
    this.lastCount = count
    let frame: string | undefined
    for (const m of this.members) if (m.info.mode === 'json' && m.live) frame = this.tellOne(m, count, frame)
  }

  /** Send `count` to a member that has not heard it yet; returns the encoded frame for reuse. */
  private tellOne(m: Member, count: number, frame: string | undefined): string | undefined {
    if (m.heardCount === count) return frame
    m.heardCount = count
    frame ??= encodePresence(this.room, count)
    this.send(m, frame)
    return frame
  }
}
