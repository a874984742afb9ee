/**
 * The interface a runtime fills in to answer the admin API (docs/admin.md): an
 * AdminBackend over a process's Hub (and, through Redis, every instance), or
 * over Cloudflare's registry and room objects. The bodies it answers with are
 * wire/admin.ts's.
 */
import type { MemberFilter } from '../room/room.ts'
import type { AdminStats, RoomDetail, RoomPage } from '../wire/admin.ts'
import type { ErrorCode } from '../wire/errors.ts'

/** Rooms per page of `GET /admin/rooms` when `limit` is not given. */
export const DEFAULT_ROOM_LIMIT = 100
/** The most rooms one page holds; a larger `limit` is taken as this. */
export const MAX_ROOM_LIMIT = 1000
/** Members `GET /admin/rooms/:room` lists (per instance) when `limit` is not given. */
export const DEFAULT_MEMBER_LIMIT = 1000
/** The most members it lists per instance; a larger `limit` is taken as this. */
export const MAX_MEMBER_LIMIT = 10_000

/** The body of `POST /admin/rooms/:room/disconnect`, checked: whom to close, and with which code. */
export interface DisconnectRequest extends MemberFilter {
  code: ErrorCode
}

/** Codes and their counts, for the dashboard's refusals and closes (the metrics registry's: see counts.ts). */
export interface CodeCounts {
  refusals(): Record<string, number>
  closes(): Record<string, number>
}

/** What the admin routes ask of a runtime. Every method may reject with Unavailable (503). */
export interface AdminBackend {
  /** Rooms with a name after the cursor's, in name order; `after` is the decoded cursor. */
  rooms(limit: number, after: string | undefined): Promise<RoomPage>
  /** One room and its members (on every instance), at most `memberLimit` per instance. */
  room(name: string, memberLimit: number): Promise<RoomDetail>
  /** Close the members a request names, on every instance; resolves with how many were closed. */
  disconnect(room: string, request: DisconnectRequest): Promise<number>
  /** Drop the room's history (seq and epoch stay); resolves with the room's seq. */
  clearHistory(room: string): Promise<number>
  /** The dashboard's figures. */
  stats(): Promise<AdminStats>
}
