/**
 * How a room hands each live entry to its members, in one of two ways: a loop
 * over the members (`MemberLoop`, here), or a runtime's topics
 * (`TopicDelivery`, topics.ts). Both own the rule that a member still being
 * welcomed (its welcome and replay not sent yet) gets no live entry: entries
 * are queued for it, and `live` sends it those its replay did not cover
 * before it takes live entries.
 *
 * The publisher of an entry gets its `ack` (when it gave an id) in the same
 * step that hands the entry to everyone else, in place of the entry itself:
 * so a publisher hears the ack for seq N before any message with seq > N, on
 * every runtime and log, however the runtime schedules promise callbacks.
 */
import type { Entry } from '../log/entry.ts'
import { entryBytes } from '../log/entry.ts'
import { utf8Length } from '../wire/bytes.ts'
import { encodeAck, encodeMessage } from '../wire/encode.ts'
import type { Member } from './member.ts'

/** One room's way of handing entries to its members. */
export interface Delivery {
  /** `m` joined and is being welcomed: queue live entries for it until `live(m)`. */
  joining(m: Member): void
  /**
   * `m`'s welcome and its replay up to seq `after` are sent: send it what was
   * queued after that, in order, then hand it live entries from now on.
   */
  live(m: Member, after: number): void
  /** `m` left or was dropped. */
  remove(m: Member): void
  /** One broadcast: encoded once per mode, the same string or bytes to every live member, queued for the joining. */
  deliver(entry: Entry): void
}

/** Where a broadcast's recipients and bytes are counted: once per broadcast, never per recipient (ops/metrics.ts). */
export interface BroadcastCounter {
  broadcast(frames: number, bytes: number): void
}

/** Sends to one member, as the room does: a send that throws or overfills the member's buffer closes that member only. */
export type SendTo = (m: Member, data: string | Uint8Array) => void

/** Send one entry to one member outside a broadcast: a replay, or what was queued during its welcome. */
export function sendEntry(room: string, m: Member, e: Entry, send: SendTo): void {
  if (m.info.mode === 'raw') send(m, e.body)
  else if (m.info.id !== e.origin) send(m, encodeMessage(room, e))
  else if (e.id !== undefined) send(m, encodeAck(e.id, e.seq))
}

/** End `m`'s queue: send it the queued entries after seq `after` (older ones came with its replay). */
export function sendQueued(room: string, m: Member, after: number, send: SendTo): void {
  const queued = m.queued
  m.queued = null
  if (queued !== null) for (const e of queued) if (e.seq > after) sendEntry(room, m, e, send)
}

/** Delivery by a loop over the room's members, each sent to through the room's `sendTo`. */
export class MemberLoop implements Delivery {
  /** Live raw members, kept as they go live and leave, so a broadcast counts its raw recipients without touching the raw path. */
  private liveRaw = 0

  constructor(
    private readonly room: string,
    private readonly members: ReadonlySet<Member>,
    private readonly send: SendTo,
    private readonly counter?: BroadcastCounter,
  ) {}

  joining(m: Member): void {
    m.queued = []
  }

  live(m: Member, after: number): void {
    // Counted before its queue is sent: a send that closes it (a slow consumer) runs remove(), which uncounts it.
    if (m.info.mode === 'raw') this.liveRaw++
    sendQueued(this.room, m, after, this.send)
  }

  remove(m: Member): void {
    // Only members that went live were counted (queued is null from live() on).
    if (m.queued === null && m.info.mode === 'raw') this.liveRaw--
  }

  deliver(entry: Entry): void {
    const raw = entry.body
    let json: string | undefined
    // The raw recipients this broadcast is addressed to, read before any send can close one.
    const raws = this.liveRaw
    let jsons = 0
    for (const m of this.members) {
      if (m.queued !== null) m.queued.push(entry)
      else if (m.info.mode === 'raw') this.send(m, raw)
      else if (m.info.id !== entry.origin) {
        // Encoded once per broadcast, and only if a json member needs it.
        json ??= encodeMessage(this.room, entry)
        this.send(m, json)
        // Beside an encode-and-send a counter costs nothing measurable; on the lean raw path it did (liveRaw instead).
        jsons++
      } else if (entry.id !== undefined) this.send(m, encodeAck(entry.id, entry.seq))
    }
    // Counted once per broadcast: recipients, and recipients times size.
    if (this.counter !== undefined && raws + jsons > 0) {
      this.counter.broadcast(raws + jsons, (raws > 0 ? raws * entryBytes(entry) : 0) + (json !== undefined ? jsons * utf8Length(json) : 0))
    }
  }
}
