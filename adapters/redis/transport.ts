/**
 * Redis as the backend uses it, whichever shape it has: one server
 * (single.ts: classic pub/sub, one connection for commands and one for
 * subscriptions) or a cluster (cluster.ts: sharded pub/sub, each room on its
 * shard). The backend sends the scripts' arguments and parses their replies;
 * a transport routes them and reports what happens to each room's channel.
 */
import { ReplyError } from 'ioredis'
import type { DirectoryScript } from './directory-scripts.ts'
import type { RoomKeys } from './wire.ts'

/** What a transport reports to the backend, per room channel. */
export interface TransportEvents {
  /** A message arrived on a room's channel. */
  message(channel: string, text: string): void
  /** The channel is subscribed (first, or again after a loss): nothing published on it from now on is missed. */
  subscribed(channel: string): void
  /** The channel's subscription is gone (its connection dropped): nobody may wait for it until `subscribed`. */
  down(channel: string): void
}

/** A script's reply as Redis gave it. */
export type Reply = (string | number)[]

/**
 * One Redis or a cluster, seen from the backend. Each runs its own latency probe: a connection that
 * stops answering takes the rooms that need it down (not ready, publishes refused, never sent).
 */
export interface Transport {
  /** The backend's name in `/healthz`: `redis` or `redis-cluster`. */
  readonly name: string
  /** Whether the room on `channel` can publish and read now: its channel is subscribed and its Redis reachable. */
  isUp(channel: string): boolean
  /** Whether this instance can serve rooms at all, and what is down (for `/healthz` and `/readyz`). */
  state(): { ready: boolean; detail?: string }
  /** Subscribe to a room's channel whenever its Redis is reachable, and report `subscribed` each time it is. */
  listen(channel: string): void
  /** Stop listening to a room's channel. */
  unlisten(channel: string): void
  /** Run the append script (ARGV as in scripts.ts); resolves with the new seq once it is as safe as this Redis makes it. */
  append(keys: RoomKeys, args: (string | number)[]): Promise<number>
  /** Run the append script with a publish key (KEYS ids and idx too; ARGV as in scripts.ts): resolves with {seq, 0 new | 1 repeat | 2 repeat, other hash}, as safe as `append`. */
  appendOnce(keys: RoomKeys, args: (string | number)[]): Promise<Reply>
  /** Run the range script; on a cluster, what it returns is held by a replica too, so a failover cannot take it back. */
  range(keys: RoomKeys, args: (string | number)[]): Promise<Reply>
  /** Run the heartbeat script; `mine` is this instance's roster key (wire.ts rosterKey). */
  beat(keys: RoomKeys, mine: string, args: (string | number)[]): Promise<Reply>
  /** Run the roster write script (ARGV as in scripts.ts); resolves with this instance's new roster version. */
  rosterWrite(keys: RoomKeys, mine: string, args: (string | number)[]): Promise<number>
  /** Run the roster read script for these instances' rosters (`rosters`: their keys; `ids`: their ids, in the same order). */
  rosterRead(keys: RoomKeys, rosters: string[], ids: string[]): Promise<unknown[]>
  /** Whether `append` resolves only once a replica holds the entry. */
  readonly confirmsAppends: boolean
  /** Run the rebase script (KEYS: meta; ARGV: the epoch the caller saw). */
  rebase(keys: RoomKeys, epoch: string): Promise<string>
  /** Run the read-only script listing the instances with a live lease in the room. */
  live(keys: RoomKeys): Promise<string[]>
  /** Run the read-only stats script. */
  peek(keys: RoomKeys): Promise<number[]>
  /** Run one of the admin directory's scripts (directory-scripts.ts); on a cluster, on the shard of its keys' slot. */
  directory(script: DirectoryScript, keys: [string, string], args: (string | number)[]): Promise<Reply>
  /** Publish on a channel as this Redis carries them (PUBLISH; SPUBLISH on a cluster); resolves with how many subscribers received it. */
  publish(channel: string, message: string): Promise<number>
  /** Disconnect everything. */
  close(): void
}

/** A publish that reached Redis but that no replica confirmed in time: it may be lost if its master fails now. */
export class Unconfirmed extends Error {
  override readonly name = 'Unconfirmed'
}

/** A command the transport never sent (no node known for its slot, too many waiting for its shard). */
export class NotSent extends Error {
  override readonly name = 'NotSent'
}

/**
 * Whether a failed command certainly never ran: it was never sent (ioredis refused to write it, the
 * cluster client was not ready, or the transport held it back), or Redis answered with an error it
 * gives before running anything. Anything else (a timeout, a connection that dropped with the command
 * in flight, a replica that did not confirm) may have run, or may yet.
 */
export function neverRan(err: unknown): boolean {
  if (!(err instanceof Error)) return false
  if (err instanceof NotSent) return true
  if (/^Stream isn't writeable|^Cluster isn't ready and enableOfflineQueue|should belong to the same slot/.test(err.message)) return true
  return (
    err instanceof ReplyError &&
    /^(OOM|BUSY|NOSCRIPT|READONLY|LOADING|MASTERDOWN|NOREPLICAS|CLUSTERDOWN|MOVED|ASK|TRYAGAIN|NOAUTH|NOPERM|WRONGPASS)\b/.test(err.message)
  )
}
