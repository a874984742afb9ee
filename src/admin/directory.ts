/**
 * What the admin API needs from a backend that spans instances (Redis): a
 * listing of the rooms open on any of them, and questions put to every
 * instance that has a room open (its members; close some of them), each
 * answered by that instance's own rooms.
 */
import type { MemberFilter, RoomStats } from '../room/room.ts'
import type { MemberSummary, RoomPage } from '../wire/admin.ts'
import type { ErrorCode } from '../wire/errors.ts'

/** A question for the instances that have a room open. */
export type RoomQuestion = { op: 'members'; limit: number } | { op: 'disconnect'; filter: MemberFilter; code: ErrorCode }

/** One instance's answer: its members, or how many it closed. */
export interface RoomAnswer {
  members?: MemberSummary[]
  disconnected?: number
}

/** A room this instance has open, as it registers it for the listing. */
export interface Lease {
  room: string
  messagesPerSecond: number
}

/** The rooms of every instance, through a shared backend. */
export interface RoomDirectory {
  /** How often to call `lease`; a room no instance leased for three of these drops out of the listing. */
  readonly leaseIntervalMs: number
  /** Register the rooms open on this instance (and their rates) for the listing. */
  lease(rooms: Lease[]): Promise<void>
  /** A page of the rooms open on any instance, in name order, after `after`. */
  rooms(limit: number, after: string | undefined): Promise<RoomPage>
  /** Counts and position of a room across instances, creating nothing. */
  stats(room: string): Promise<RoomStats>
  /** Put `question` to every instance that has `room` open (this one included); resolves with the answers that came in time. */
  ask(room: string, question: RoomQuestion): Promise<RoomAnswer[]>
  /** Answer questions from any instance with this instance's own rooms. Called once. */
  answerWith(answer: (room: string, question: RoomQuestion) => RoomAnswer): void
  /** Drop the room's history (seq and epoch stay), open anywhere or nowhere; resolves with its seq. */
  clearHistory(room: string): Promise<number>
}
