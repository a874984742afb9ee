/**
 * The seam for "where seq, history and cross-instance delivery come from":
 * in memory for one process (memory-log.ts), SQL in a Durable Object
 * (sql-log.ts), Redis for many instances (adapters/redis). The room logic
 * never knows which one it has.
 */
import type { Draft, Entry } from './entry.ts'

/** The room's position: its last sequence number and the epoch that names its history. */
export interface Head {
  seq: number
  epoch: string
}

/** What a resume gets: the entries to replay and whether nothing was missed. */
export interface Replay extends Head {
  entries: Entry[]
  complete: boolean
}

/** What a log calls back into: the room it belongs to. */
export interface RoomSink {
  /** Hand an entry to this instance's members; called in seq order. */
  deliver(entry: Entry): void
  /** The member count across instances changed (backends that span instances). */
  membersChanged(): void
  /**
   * This instance can no longer hand members a gap-free stream (the backend's
   * history was lost, or missed entries are no longer in it): the room closes
   * its members so they reconnect and resume, and hear `complete:false`.
   */
  lost(): void
}

/** Where one room's sequence, history and delivery come from. */
export interface RoomLog {
  /** The current head. */
  head(): Promise<Head>
  /**
   * Where a member joining now starts: it receives, through `deliver`, every
   * entry after the returned seq. Called synchronously from `Room.join`.
   * Absent where it is the same as `head()` (one process, a Durable Object);
   * it differs where delivery trails the head (Redis pub/sub).
   */
  joinPoint?(): Promise<Head>
  /**
   * Resolves once a member that joins now gets every entry published after
   * its socket opened (a Redis log has subscribed and read the head); rejects
   * with `Unavailable` when it cannot be. Absent where that is always so.
   */
  ready?(): Promise<void>
  /**
   * Give `draft` the next seq, keep it in history and deliver it (to this
   * instance's members through `deliver`, and to every other instance's).
   * Resolves with the seq; rejects with `Unavailable` when it could not be
   * published, in which case no member received it.
   */
  append(draft: Draft): Promise<number>
  /** Entries after `since`; `complete` is false when history no longer reaches back or the epoch differs. */
  replay(since: number, epoch: string | undefined): Promise<Replay>
  /** This instance's member count changed; returns the count across all instances. */
  members(local: number): number
  /** The room is being dropped from this instance. */
  close(): void
}

/** Opens the log of a room; `sink` receives its entries. */
export type LogFactory = (room: string, sink: RoomSink) => RoomLog

/** A publish could not be carried out right now (for example, Redis is down). */
export class Unavailable extends Error {}

/** Limits a history keeps to. */
export interface HistoryLimits {
  historyMessages: number
  historyBytes: number
}

/** A fresh random epoch. */
export function newEpoch(): string {
  return crypto.randomUUID().replace(/-/g, '').slice(0, 16)
}

/**
 * Compute a replay from a contiguous, ascending run of retained entries.
 * Shared by every backend so resume means the same everywhere.
 */
export function replayFrom(retained: readonly Entry[], head: Head, since: number, epoch: string | undefined): Replay {
  if (epoch !== undefined && epoch !== head.epoch) {
    // The client's numbers belong to a lost history: give it all we have, and say so.
    return { ...head, entries: retained.slice(), complete: false }
  }
  if (since >= head.seq) return { ...head, entries: [], complete: since === head.seq }
  const oldest = retained[0]?.seq ?? head.seq + 1
  const entries = retained.filter((e) => e.seq > since)
  return { ...head, entries, complete: oldest <= since + 1 }
}
