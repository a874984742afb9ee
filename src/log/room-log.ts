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

/** One instance's part of a sub's membership: its connections there, and the info of one of them. */
export interface RosterShare {
  connections: number
  /** The authorize hook's `info` (a MemberData: at most 1 KiB of JSON). */
  info?: Record<string, unknown>
}

/**
 * The other instances' part of a room's roster, where the room's log spans instances (Redis): what
 * they publish, kept current by the log, which tells the room (`RoomSink.rosterChanged`) which subs changed.
 */
export interface RemoteRoster {
  /** `sub`'s connections on the other instances (summed) and its info there; undefined where it has none. */
  get(sub: string): RosterShare | undefined
  /** This instance's connections of these subs changed (0: none left here): tell the others. At most once per tick. */
  publish(changes: ReadonlyMap<string, RosterShare>): void
}

/** What a log calls back into: the room it belongs to. */
export interface RoomSink {
  /** Hand an entry to this instance's members; called in seq order. */
  deliver(entry: Entry): void
  /** The member count across instances changed (backends that span instances). */
  membersChanged(): void
  /** Other instances' connections of these subs changed (backends that span instances and keep a `roster`). */
  rosterChanged?(subs: Iterable<string>): void
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
   * Resolves with the seq. Rejects with `Unavailable` when it was certainly
   * not published (no member will receive it), or with `OutcomeUnknown` when
   * the backend was asked and did not confirm (every member may still receive
   * it, or none). The publisher's `ack` is not sent from here but in the
   * delivery of the entry (Delivery.deliver), so it comes in seq order.
   */
  append(draft: Draft): Promise<number>
  /**
   * As `append`, unless `once.key` was appended within the room's dedupe window:
   * then nothing is appended or delivered, and the result carries that entry's
   * seq. Looking the key up and appending are one atomic step, across instances
   * where the log spans them. Only publishes with an id come here, so a publish
   * without one costs no lookup.
   */
  appendOnce(draft: Draft, once: Once): Promise<Appended>
  /** Entries after `since`; `complete` is false when history no longer reaches back or the epoch differs. */
  replay(since: number, epoch: string | undefined): Promise<Replay>
  /** Bytes of message bodies the history holds in this process; absent where it lives elsewhere (Redis). */
  historyBytes?(): number
  /** This instance's member count changed; returns the count across all instances. */
  members(local: number): number
  /**
   * The other instances' part of the room's v2 roster (by sub), where the log spans instances; it reports
   * changes through `RoomSink.rosterChanged`. Absent where the room is whole here (memory, a Durable Object).
   */
  readonly roster?: RemoteRoster
  /**
   * Drop every entry of history; seq and epoch stay, so a resume from before
   * now reports `complete:false`. Absent where another part clears it (Redis:
   * its directory, which reaches rooms no instance has open).
   */
  clear?(): Promise<void>
  /** The room is being dropped from this instance. */
  close(): void
}

/** A publish's deduplication key within its room, and what a repeat of it must match. */
export interface Once {
  /** The publisher's identity and the publish's id, as `dedupeKey` joins them. */
  key: string
  /** A hash of the publish (HTTP: of its body), compared on a repeat; '' where nothing is compared (json publish ids). */
  hash: string
}

/** How an append with a key went. */
export interface Appended {
  /** The new entry's seq, or (a duplicate) the seq the key was first appended as. */
  seq: number
  /** The key was appended before, within the window: nothing was appended now. */
  duplicate: boolean
  /** A duplicate whose first publish had another hash (an HTTP Idempotency-Key reused for another body). */
  mismatch: boolean
}

/** How long and how many publish keys a room remembers (DEDUPE_WINDOW_MS, DEDUPE_MAX_IDS). */
export interface DedupeLimits {
  dedupeWindowMs: number
  dedupeMaxIds: number
}

/** The dedupe limits a log falls back to when given none (the same as config's defaults; a unit test holds them together). */
export const DEDUPE_DEFAULTS: DedupeLimits = { dedupeWindowMs: 120_000, dedupeMaxIds: 10_000 }

/** Limits a log keeps to: its history and, optionally, its dedupe table. */
export type LogLimits = HistoryLimits & Partial<DedupeLimits>

/** The dedupe limits of `limits`, defaults filled in. */
export function dedupeLimits(limits: Partial<DedupeLimits>): DedupeLimits {
  return { dedupeWindowMs: limits.dedupeWindowMs ?? DEDUPE_DEFAULTS.dedupeWindowMs, dedupeMaxIds: limits.dedupeMaxIds ?? DEDUPE_DEFAULTS.dedupeMaxIds }
}

/**
 * The key of publish `id` from `identity` (a kind letter and a name: see Room and the HTTP publish).
 * Length-prefixed, so no identity and id can spell another pair's key.
 */
export function dedupeKey(identity: string, id: string): string {
  return `${identity.length}:${identity}${id}`
}

/** Opens the log of a room; `sink` receives its entries. */
export type LogFactory = (room: string, sink: RoomSink) => RoomLog

/** A publish could not be carried out right now (for example, Redis is down); a publish refused so was certainly not published. */
export class Unavailable extends Error {}

/**
 * A publish was handed to the backend, which did not confirm it (a command
 * timed out, or the connection dropped with it in flight): it may still reach
 * every member, or none. Told apart from Unavailable so neither answer lies.
 */
export class OutcomeUnknown extends Error {}

/** Limits a history keeps to. */
export interface HistoryLimits {
  historyMessages: number
  historyBytes: number
  /** Bytes of history across every room of the instance (memory logs); past it the least recently used rooms' oldest entries go. */
  historyTotalBytes?: number
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
