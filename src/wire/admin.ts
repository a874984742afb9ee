/**
 * The bodies the admin API answers with (docs/admin.md): a contract like the
 * frames, so fields are added, never renamed. No imports beyond frames.ts, so
 * the dashboard's script bundles the types.
 */
import type { Mode } from './frames.ts'

/** One member as the admin API shows it (`GET /admin/rooms/:room`). */
export interface MemberSummary {
  connectionId: string
  /** The token's `sub`, when it joined with one. */
  sub?: string
  mode: Mode
  /** Unix ms at which it joined. */
  since: number
  /** Bytes queued but not yet sent, where the runtime can tell. */
  bufferedBytes?: number
}

/** One row of `GET /admin/rooms`. */
export interface RoomListing {
  room: string
  /** Members on every instance. */
  connections: number
  seq: number
  /** Bytes of message bodies held in history. */
  historyBytes: number
  /** Messages published to the room per second, averaged over the last few seconds. */
  messagesPerSecond: number
  /** Cloudflare: what the room's object has cost, as it last reported (see RoomCost). */
  cost?: RoomCostReport
}

/** `GET /admin/rooms`: a page of rooms in name order, and the cursor of the next page if there may be one. */
export interface RoomPage {
  rooms: RoomListing[]
  cursor?: string
}

/** `GET /admin/rooms/:room` */
export interface RoomDetail {
  room: string
  connections: number
  seq: number
  members: MemberSummary[]
  /** Cloudflare: the room object's cost, read from the object itself. */
  cost?: RoomCostReport
}

/**
 * What a Durable Object room has cost since it was first seen (Cloudflare
 * bills requests, and duration while an object is in memory): how often it
 * woke, how long it was awake and not, the keep-alive pings the runtime
 * answered without waking it, and the messages and sends it carried.
 */
export interface RoomCostReport {
  /** Unix ms from which these figures count. */
  since: number
  /** Times the object was started: a wake from hibernation, or a cold start. */
  wakeUps: number
  /** Time in memory (billed duration), the last awake period's tail estimated. */
  awakeMs: number
  /** Time out of memory: hibernated with members, or evicted without. */
  hibernatedMs: number
  /**
   * Keep-alive pings answered by the runtime without running the object
   * (`setWebSocketAutoResponse`): a lower bound, at most one per socket between
   * two looks at `getWebSocketAutoResponseTimestamp`.
   */
  autoResponses: number
  messages: number
  deliveries: number
  /** Reports this room sent to the registry (each one a Durable Object request). */
  reports?: number
  /** Alarm invocations (each billed as a request): credential expiries, v2 roster ticks, the idle reaper's looks, and the flushes that report. */
  alarms?: number
  /** Whether the object is in memory, as far as its last report tells. */
  awake?: boolean
  /** Unix ms of the room's last report to the registry. */
  reportedAt?: number
}

/** One point of the dashboard's charts: an instance's state over one sampling interval. */
export interface SeriesPoint {
  /** Unix ms at the end of the interval. */
  t: number
  connections: number
  messagesPerSecond: number
  deliveriesPerSecond: number
}

/** What the backend says about itself, for the dashboard. */
export interface BackendState {
  name: string
  ready: boolean
  detail?: string
}

/** `GET /admin/stats`: what the dashboard shows, for this instance (Cloudflare: for the registry's rooms). */
export interface AdminStats {
  /** Unix ms the figures were taken. */
  at: number
  connections: number
  rooms: number
  messagesPerSecond: number
  deliveriesPerSecond: number
  /** Totals since this instance started. */
  messages: number
  deliveries: number
  backend: BackendState
  /** Oldest first, one point per `intervalMs`. */
  series: { intervalMs: number; points: SeriesPoint[] }
  /** The rooms with the most messages per second, then the most members. */
  busiest: RoomListing[]
  /** Refused upgrades and requests by code, and server-initiated closes by code, since the instance started. */
  refusals: Record<string, number>
  closes: Record<string, number>
  /** Cloudflare: the reports the registry received, and since when (Unix ms), which is what it costs. */
  registry?: { reports: number; since: number }
}
