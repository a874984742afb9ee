/** What the Hono app needs from a runtime to reach rooms. */
import type { Context } from 'hono'
import type { Grant } from '../access/credentials.ts'
import type { AdminBackend } from '../admin/admin.ts'
import type { MemberData } from '../hooks/hooks.ts'
import type { EntryKind } from '../log/entry.ts'
import type { Appended, Once } from '../log/room-log.ts'
import type { JoinRequest } from '../room/connection.ts'
import type { RoomStats } from '../room/room.ts'
import type { RosterPage } from '../room/roster.ts'
import type { Health } from './health.ts'
import type { SessionGrant, SessionOptions } from './session.ts'

/** A protocol v2 upgrade on a room's own URL, past the door: what its session is opened with. */
export interface ScopedSession {
  grant?: SessionGrant
  /** The `?client=` key. */
  client?: string
  /** What the `authorize` hook attached. */
  info?: MemberData
  ip?: string
}

/** How the app reaches rooms: a Hub in one process, or a Durable Object per room on Cloudflare. */
export interface RoomGateway {
  /** Members across all rooms of this instance, for MAX_CONNECTIONS; absent where there is no instance-wide count (Cloudflare). */
  connections?(): number
  /** Whether the room has no place for another member on this instance. */
  isFull(room: string): boolean | Promise<boolean>
  /**
   * Whether `room` is not open on this instance and the instance already holds
   * MAX_ROOMS rooms, so opening it would be refused (503 too_many_rooms).
   * Synchronous, so nothing can open a room between the check and the upgrade
   * or publish that follows it. Absent where no instance holds a set of rooms
   * (Cloudflare: each room is its own Durable Object).
   */
  roomLimitReached?(room: string): boolean
  /** Answer an already-validated WebSocket upgrade request for `room`. */
  upgrade(c: Context, room: string, join: JoinRequest): Response | Promise<Response>
  /**
   * Answer an already-validated protocol v2 upgrade (on `/`); absent where one socket cannot span rooms
   * (Cloudflare). `session`: what else the session is given (the `authorize` hook to ask per room, the address).
   */
  connect?(c: Context, grant: Grant | undefined, client?: string, session?: SessionOptions): Response | Promise<Response>
  /** Answer an already-validated protocol v2 upgrade on `/rooms/:room`: a session serving that room only. */
  connectRoom?(c: Context, room: string, session: ScopedSession): Response | Promise<Response>
  /** `GET /rooms/:room/presence`: a page of the room's roster; absent where there is none. */
  presence?(room: string, limit: number, cursor?: string): Promise<RosterPage>
  /** `GET /rooms/:room` */
  stats(room: string): Promise<RoomStats>
  /**
   * `POST /rooms/:room/messages` (with `once`: its Idempotency-Key); rejects with Unavailable (not published)
   * or OutcomeUnknown (asked, not confirmed).
   */
  publish(room: string, kind: EntryKind, body: string, from?: string, once?: Once): Promise<Appended>
  /** Build the admin API's backend; called once, and only when ADMIN_TOKEN is set (it may start timers). */
  admin?(health: () => Health): AdminBackend
}
