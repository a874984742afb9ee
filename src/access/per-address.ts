/** A count per client address over fixed one-second windows: what MAX_UPGRADES_PER_IP and MAX_PUBLISHES_PER_IP limit. */
import type { Clock } from '../config/clock.ts'

/** Requests per address in the current one-second window; cleared when the window turns, so it holds only this second's addresses. */
export class PerAddress {
  private readonly counts = new Map<string, number>()
  private window = -1

  constructor(
    private readonly clock: Clock,
    /** Requests one address may make per window. */
    private readonly limit: number,
  ) {}

  /** Count a request from `ip`; false when it is past the limit this second. Unknown addresses are not counted. */
  take(ip: string | undefined): boolean {
    if (ip === undefined || ip === '') return true
    const window = Math.floor(this.clock.now() / 1000)
    if (window !== this.window) {
      this.window = window
      this.counts.clear()
    }
    const n = (this.counts.get(ip) ?? 0) + 1
    this.counts.set(ip, n)
    return n <= this.limit
  }
}
