/** A member of a room as the core keeps it. */
import type { Connection, MemberInfo } from './connection.ts'
import type { Entry } from '../log/entry.ts'
import type { Bucket, Window } from './limits.ts'

/** A member of a room: its connection, its serialisable info and its limit counters. */
export class Member {
  readonly bucket: Bucket
  readonly strikes: Window
  readonly bad: Window
  lastSeen: number
  /** Entries that arrived while the welcome and replay were prepared; null once live. */
  pending: Entry[] | null = null
  /** The member count this member was last told, so no one hears the same count twice. */
  presence = -1
  closed = false

  constructor(
    readonly conn: Connection,
    readonly info: MemberInfo,
    now: number,
    burst: number,
  ) {
    this.bucket = { tokens: burst, at: now }
    this.strikes = { count: 0, start: now }
    this.bad = { count: 0, start: now }
    this.lastSeen = now
  }
}
