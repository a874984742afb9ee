/**
 * Rates from counters that only grow, sampled once per interval: each room's
 * messages per second (an exponentially weighted average over about
 * RATE_TAU_MS), and the instance's series of connections, messages/s and
 * deliveries/s for the dashboard. Only the admin API runs it, so a server
 * without ADMIN_TOKEN pays nothing; the fan-out only bumps two counters.
 */
import type { Traffic } from '../room/room.ts'
import type { SeriesPoint } from '../wire/admin.ts'

/** How far back a room's rate looks: the time constant of its average. */
export const RATE_TAU_MS = 10_000

/** A room as the sampler reads it. */
export interface Sampled {
  readonly traffic: Traffic
}

interface RoomRate {
  messages: number
  deliveries: number
  perSecond: number
}

/** Per-room rates and the instance's series, fed by `tick`. */
export class TrafficSampler {
  private readonly rates = new WeakMap<Traffic, RoomRate>()
  private readonly points: SeriesPoint[] = []
  private last: number | undefined
  /** Totals since the sampler started (of the rooms it saw tick by tick). */
  messages = 0
  deliveries = 0

  constructor(
    /** How often `tick` is called. */
    readonly intervalMs: number,
    /** Points kept for the charts. */
    private readonly maxPoints: number,
  ) {}

  /** Take one sample at `now` of `rooms` (all open on this instance) and `connections`. */
  tick(now: number, rooms: Iterable<Sampled>, connections: number): void {
    const dt = this.last === undefined ? this.intervalMs : Math.max(1, now - this.last)
    this.last = now
    const alpha = 1 - Math.exp(-dt / RATE_TAU_MS)
    let messages = 0
    let deliveries = 0
    for (const room of rooms) {
      const t = room.traffic
      let r = this.rates.get(t)
      if (r === undefined) {
        // A room first seen now: what it carried before this tick counts to this tick.
        r = { messages: 0, deliveries: 0, perSecond: 0 }
        this.rates.set(t, r)
      }
      const dm = t.messages - r.messages
      messages += dm
      deliveries += t.deliveries - r.deliveries
      r.messages = t.messages
      r.deliveries = t.deliveries
      r.perSecond += alpha * ((dm * 1000) / dt - r.perSecond)
    }
    this.messages += messages
    this.deliveries += deliveries
    this.points.push({ t: now, connections, messagesPerSecond: (messages * 1000) / dt, deliveriesPerSecond: (deliveries * 1000) / dt })
    if (this.points.length > this.maxPoints) this.points.shift()
  }

  /** The room's messages per second, as of the last tick (0 for a room not sampled yet). */
  rate(room: Sampled): number {
    return round(this.rates.get(room.traffic)?.perSecond ?? 0)
  }

  /** The charts' points, oldest first. */
  series(): SeriesPoint[] {
    return this.points.map((p) => ({ ...p, messagesPerSecond: round(p.messagesPerSecond), deliveriesPerSecond: round(p.deliveriesPerSecond) }))
  }

  /** The latest point, if there is one. */
  latest(): SeriesPoint | undefined {
    return this.points[this.points.length - 1]
  }
}

/** Two decimals are plenty for a rate an operator reads. */
export function round(n: number): number {
  return Math.round(n * 100) / 100
}
