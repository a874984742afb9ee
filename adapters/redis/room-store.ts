/**
 * The two interfaces between one room's log and the instance's Redis
 * connections, so neither file imports the other's class: the log asks the
 * store (`RoomStore`, which RedisBackend implements) and the store reports to
 * the log (`RoomListener`, which RedisLog implements), as centrifuge's
 * broker reports to the handler its node gives it.
 */
import type { Appended, Draft, Entry, Once, RosterShare } from '../../src/index.ts'
import type { RoomKeys } from './wire.ts'

/** What a heartbeat read: the room's head, Redis's clock (µs), the other instances' live counts, and every instance's roster version. */
export interface Beat {
  epoch: string
  seq: number
  at: number
  others: [string, number][]
  versions: Map<string, number>
}

/** One instance's part of a room's v2 roster as read from Redis: its version (0: none) and its subs. */
export interface RosterPart {
  version: number
  subs: Map<string, RosterShare>
}

/** A room's head and the history entries a range read returned. */
export interface Range {
  epoch: string
  seq: number
  entries: Entry[]
}

/** What a room's log asks of the instance's Redis connections. */
export interface RoomStore {
  /** Prefix of every key and channel. */
  readonly prefix: string
  /** This instance's id in presence counts. */
  readonly instanceId: string
  /** Whether `room` can publish and read now: its channel is subscribed and its Redis (its shard, on a cluster) reachable. */
  isUp(room: RoomListener): boolean
  /** Whether an append resolves only once a replica holds it (a cluster), so a member's entry waits for that before its ack. */
  readonly confirmsAppends: boolean
  /** A room opened on this instance: subscribe to its channel and report its events to `room`. */
  open(room: RoomListener): void
  /** A room closed on this instance: stop listening. */
  release(room: RoomListener): void
  /** Take the next seq, keep the entry in history and publish it: one atomic script. Rejects with Unavailable. */
  append(keys: RoomKeys, draft: Draft): Promise<number>
  /** As `append`, unless `once.key` was appended within the dedupe window: the lookup is in the same script. Rejects with Unavailable. */
  appendOnce(keys: RoomKeys, draft: Draft, once: Once): Promise<Appended>
  /**
   * The room's head and its history after `since` (all of it when `epoch` is not the room's); on a
   * cluster, held by a replica too, so a failover cannot take back what a room delivers from it.
   * Rejects with Unavailable.
   */
  range(keys: RoomKeys, since: number, epoch: string | undefined): Promise<Range>
  /** Give the room a new epoch if it is still in `epoch` (its seqs no longer name what members saw); resolves with the room's epoch. Rejects with Unavailable. */
  rebase(keys: RoomKeys, epoch: string): Promise<string>
  /** Write this instance's count for the room (announcing it if `publish`) and read everyone else's. Rejects with Unavailable. */
  beat(keys: RoomKeys, count: number, publish: boolean): Promise<Beat>
  /**
   * Write this instance's part of the room's v2 roster (`pairs`: sub, encoded share; "" removes the sub;
   * `reset`: they replace the whole part) and announce `message`; resolves with the part's new version. Rejects with Unavailable.
   */
  rosterWrite(keys: RoomKeys, reset: boolean, message: string, pairs: string[]): Promise<number>
  /** Read these instances' parts of the room's v2 roster. Rejects with Unavailable. */
  rosterRead(keys: RoomKeys, instances: string[]): Promise<Map<string, RosterPart>>
}

/** What the Redis connections report to one room's log on this instance. */
export interface RoomListener {
  /** The room's keys and channel. */
  readonly keys: RoomKeys
  /** An entry arrived on the room's channel. */
  onEntry(epoch: string, entry: Entry): void
  /** Another instance announced its member count. */
  onPresence(instance: string, count: number, at: number): void
  /** Another instance announced a new version of its part of the room's roster. */
  onRoster(instance: string, version: number, changes: string): void
  /** Subscribed (first, or again after Redis returned): nothing published from now on is missed; catch up and re-announce. */
  onSubscribed(): void
  /** Redis went away: nobody may wait for it. */
  onDown(): void
  /** The periodic heartbeat: keep this instance's count alive and check nothing was missed. */
  onHeartbeat(): void
}
