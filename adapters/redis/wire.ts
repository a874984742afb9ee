/** What travels through Redis for a room: keys, channel, and the text forms of entries and presence. */

import type { Draft, Entry } from '../../src/index.ts'
import { parseEntry, serializeEntry } from '../../src/index.ts'

/** A room's Redis keys and channel under `prefix`; the hash tag keeps them in one cluster slot. */
export interface RoomKeys {
  meta: string
  log: string
  presence: string
  /** Publish keys (hash) and their expiry order (sorted set), for publishes with an id. */
  ids: string
  idx: string
  /** Each instance's roster version (hash), and the prefix of each instance's roster (hash) key. */
  rv: string
  roster: string
  channel: string
}

/** The keys and channel of `room`. */
export function roomKeys(prefix: string, room: string): RoomKeys {
  const base = `${prefix}{${room}}`
  return {
    meta: `${base}:meta`,
    log: `${base}:log`,
    presence: `${base}:presence`,
    ids: `${base}:ids`,
    idx: `${base}:idx`,
    rv: `${base}:rv`,
    roster: `${base}:roster:`,
    channel: `${base}:ch`,
  }
}

/** The key of `instance`'s part of the room's v2 roster (in the room's slot, by its hash tag). */
export function rosterKey(keys: RoomKeys, instance: string): string {
  return keys.roster + instance
}

/** The draft as JSON without a seq; the append script puts `"seq":N,` in front. */
export function draftJson(draft: Draft): string {
  return serializeEntry(draft as Entry)
}

/** A message on a room's channel. */
export type ChannelMessage =
  | { type: 'entry'; epoch: string; entry: Entry }
  | { type: 'presence'; instance: string; count: number; at: number }
  | { type: 'roster'; instance: string; version: number; changes: string }

/** Parse a channel message ("m <epoch> <entry>", "p <instance> <count> <at>" or "r <instance> <version> <changes>"); null if it is none. */
export function parseChannelMessage(text: string): ChannelMessage | null {
  if (text.startsWith('m ')) {
    const sp = text.indexOf(' ', 2)
    if (sp < 0) return null
    return { type: 'entry', epoch: text.slice(2, sp), entry: parseEntry(text.slice(sp + 1)) }
  }
  if (text.startsWith('p ')) {
    const [, instance, count, at] = text.split(' ')
    if (instance === undefined || count === undefined || at === undefined) return null
    return { type: 'presence', instance, count: Number(count), at: Number(at) }
  }
  if (text.startsWith('r ')) {
    const a = text.indexOf(' ', 2)
    const b = a < 0 ? -1 : text.indexOf(' ', a + 1)
    if (b < 0) return null
    return { type: 'roster', instance: text.slice(2, a), version: Number(text.slice(a + 1, b)), changes: text.slice(b + 1) }
  }
  return null
}

/** Parse a history element ("<bodyBytes> <entry>"). */
export function parseHistoryItem(text: string): Entry {
  return parseEntry(text.slice(text.indexOf(' ') + 1))
}
