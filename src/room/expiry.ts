/**
 * Credential expiry: one timer (or the runtime's alarm) for the room's next
 * expiry, so a member whose token expires is closed on time (4001), not at
 * the next sweep.
 */
import type { Clock } from '../config/clock.ts'

/** Longest delay a timer takes on every runtime (2^31-1 ms, about 24.8 days); longer waits re-arm. */
const MAX_TIMER_MS = 2_147_483_647

/** Whether credentials that expire at `exp` (Unix ms; undefined: never) have expired at `now`. */
export function expired(exp: number | undefined, now: number): boolean {
  return exp !== undefined && now >= exp
}

/** Calls `fire` by the earliest expiry it was told to watch. */
export class ExpiryTimer {
  private timer: unknown = undefined
  private next = Infinity

  constructor(
    private readonly clock: Clock,
    private readonly fire: () => void,
    /**
     * Schedule `fire` at `at` instead of a clock timer, replacing any earlier schedule
     * (Cloudflare: a storage alarm, since a pending timer keeps a Durable Object awake).
     */
    private readonly schedule?: (at: number) => void,
  ) {}

  /** Make sure `fire` runs by `exp`, when that is earlier than the expiry planned so far. */
  watch(exp: number | undefined): void {
    if (exp === undefined || exp >= this.next) return
    this.next = exp
    if (this.schedule !== undefined) return this.schedule(exp)
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer)
    this.timer = this.clock.setTimeout(this.fire, Math.min(Math.max(0, exp - this.clock.now()), MAX_TIMER_MS))
  }

  /** Forget what is planned (it fired): the room watches its remaining members' expiries again. */
  reset(): void {
    this.dispose()
    this.next = Infinity
  }

  /** Cancel the pending timer. */
  dispose(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer)
    this.timer = undefined
  }
}
