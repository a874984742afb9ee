/** What the Hono app needs from a runtime to reach rooms. */
import type { Context } from 'hono'
import type { JoinRequest } from '../room/connection.ts'
import type { EntryKind } from '../log/entry.ts'
import type { RoomStats } from '../room/room.ts'

/** How the app reaches rooms: a Hub in one process, or a Durable Object per room on Cloudflare. */
export interface RoomGateway {
  /** Members across all rooms of this instance, for MAX_CONNECTIONS; absent where there is no instance-wide count (Cloudflare). */
  connections?(): number
  /** Whether the room has no place for another member on this instance. */
  isFull(room: string): boolean | Promise<boolean>
  /** Answer an already-validated WebSocket upgrade request for `room`. */
  upgrade(c: Context, room: string, join: JoinRequest): Response | Promise<Response>
  /** `GET /rooms/:room` */
  stats(room: string): Promise<RoomStats>
  /** `POST /rooms/:room/messages`; rejects with Unavailable when it cannot be published. */
  publish(room: string, kind: EntryKind, body: string, from?: string): Promise<number>
}
