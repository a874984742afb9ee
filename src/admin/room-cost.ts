/**
 * What one Durable Object room costs (Cloudflare bills each request and each
 * second an object is in memory): wake-ups, time awake and not, keep-alive
 * pings the runtime answered without running the object, messages and sends.
 * Pure arithmetic over times the object hands in; the object persists the
 * state at each flush, since nothing runs just before it hibernates.
 *
 * The runtime hibernates an object that has been idle (no event, no timer)
 * for EVICT_AFTER_MS, and says nothing: so an awake period is taken to end
 * EVICT_AFTER_MS after its last flush, and is closed at the next wake.
 */
import type { Traffic } from '../room/room.ts'
import type { RoomCostReport } from '../wire/admin.ts'

/** Idle time after which the runtime hibernates an object (Cloudflare's lifecycle docs: "currently 10 seconds"). */
export const EVICT_AFTER_MS = 10_000

/** What a room object persists of its cost, in its own storage. */
export interface CostState {
  /** The room's name: an object started by its alarm is not told the name it was created by. */
  room?: string
  /** Unix ms from which the figures count. */
  since: number
  wakeUps: number
  awakeMs: number
  hibernatedMs: number
  autoResponses: number
  messages: number
  deliveries: number
  /** Reports sent to the registry. */
  reports: number
  /** Alarm invocations (billed as requests): credential expiries and the reporter's flushes. */
  alarms?: number
  /** Unix ms of the last flush: the object was awake until then, and for EVICT_AFTER_MS after, unless it woke sooner. */
  lastActive: number
}

/** The cost of one room object across its wakes. */
export class RoomCost {
  readonly state: CostState
  /** Awake time of this period counted into `state.awakeMs` up to here. */
  private countedTo: number
  /** The room's traffic counters as of the last flush (they restart at 0 with every wake). */
  private seen: Traffic = { messages: 0, deliveries: 0 }
  /** When this awake period began. */
  readonly wokeAt: number
  /** Time out of memory just before this wake (0 at a first start). */
  readonly slept: number

  /** A wake at `now` of the room `room`, continuing `saved` (absent: the room's first start). */
  constructor(saved: CostState | undefined, now: number, room?: string) {
    this.state = saved === undefined ? fresh(now) : { ...saved }
    if (room !== undefined) this.state.room = room
    this.slept = 0
    if (saved !== undefined) {
      // The last period stayed in memory until the runtime evicted it, or until now, whichever came first.
      const gap = Math.max(0, now - saved.lastActive)
      this.state.awakeMs += Math.min(gap, EVICT_AFTER_MS)
      this.slept = Math.max(0, gap - EVICT_AFTER_MS)
      this.state.hibernatedMs += this.slept
    }
    this.state.wakeUps++
    this.state.lastActive = now
    this.wokeAt = now
    this.countedTo = now
  }

  /** Take in what happened up to `now`: awake time, the room's traffic, pings answered meanwhile. Returns the state to persist. */
  flush(now: number, traffic: Traffic, autoResponses: number): CostState {
    const s = this.state
    s.awakeMs += Math.max(0, now - this.countedTo)
    this.countedTo = Math.max(now, this.countedTo)
    s.lastActive = this.countedTo
    s.messages += traffic.messages - this.seen.messages
    s.deliveries += traffic.deliveries - this.seen.deliveries
    this.seen = { messages: traffic.messages, deliveries: traffic.deliveries }
    s.autoResponses += autoResponses
    return s
  }

  /** The figures as the admin API shows them. */
  report(): RoomCostReport {
    const { since, wakeUps, awakeMs, hibernatedMs, autoResponses, messages, deliveries, reports, alarms = 0 } = this.state
    return { since, wakeUps, awakeMs, hibernatedMs, autoResponses, messages, deliveries, reports, alarms }
  }
}

function fresh(now: number): CostState {
  return { since: now, wakeUps: 0, awakeMs: 0, hibernatedMs: 0, autoResponses: 0, messages: 0, deliveries: 0, reports: 0, lastActive: now }
}

/**
 * Keep-alive pings the runtime answered since the last look, from each
 * socket's last auto-response time: at most one per socket per look (the
 * runtime keeps only the latest), so a lower bound. `last` holds what each
 * socket showed at the previous look; a socket not in it counts from `since`.
 */
export function countAutoResponses<S extends object>(
  sockets: Iterable<S>,
  timestamp: (s: S) => number | undefined,
  last: WeakMap<S, number>,
  since: number,
): number {
  let n = 0
  for (const s of sockets) {
    const t = timestamp(s)
    if (t === undefined) continue
    if (t > (last.get(s) ?? since)) n++
    last.set(s, t)
  }
  return n
}
