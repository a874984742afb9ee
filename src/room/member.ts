/** A member of a room as the core keeps it. */
import type { Entry } from '../log/entry.ts'
import type { Connection, MemberInfo } from './connection.ts'
import type { Bucket, Window } from './limits.ts'

/** A member of a room: its connection, its serialisable info and its limit counters. */
export class Member {
  /** Publish tokens (RATE_LIMIT, RATE_BURST). */
  readonly bucket: Bucket
  /** Publishes refused for rate in the current flood window; past FLOOD_STRIKES the member is closed (1008 flooding). */
  readonly rateRefusals: Window
  /** Bad json frames in the current minute; past BAD_FRAME_BUDGET the member is closed (1008 too_many_errors). */
  readonly badFrames: Window
  lastSeen: number
  /** Live entries the room's delivery queued while the welcome and replay were prepared; null once live. */
  queued: Entry[] | null = null
  /** The member count this member last heard, so no one hears the same count twice. */
  heardCount = -1
  closed = false

  constructor(
    readonly conn: Connection,
    readonly info: MemberInfo,
    now: number,
    burst: number,
  ) {
    this.bucket = { tokens: burst, at: now }
    this.rateRefusals = { count: 0, start: now }
    this.badFrames = { count: 0, start: now }
    this.lastSeen = now
  }

  /** Whether the welcome and replay are sent: the member gets live entries and presence. */
  get live(): boolean {
    return this.queued === null
  }
}
