/**
 * How a room hands each live entry to its members, in one of two ways: a loop
 * over the members (`MemberLoop`, here), or a runtime's topics
 * (`TopicDelivery`, topics.ts). Both own the rule that a member still being
 * welcomed (its welcome and replay not sent yet) gets no live entry: entries
 * are queued for it, and `live` sends it those its replay did not cover
 * before it takes live entries.
 */
import type { Entry } from '../log/entry.ts'
import { encodeMessage } from '../wire/encode.ts'
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

/** Sends to one member, as the room does: a send that throws or overfills the member's buffer closes that member only. */
export type SendTo = (m: Member, data: string | Uint8Array) => void

/** Send one entry to one member outside a broadcast: a replay, or what was queued during its welcome. */
export function sendEntry(room: string, m: Member, e: Entry, send: SendTo): void {
  if (m.info.mode === 'raw') send(m, e.body)
  else if (m.info.id !== e.origin) send(m, encodeMessage(room, e))
}

/** End `m`'s queue: send it the queued entries after seq `after` (older ones came with its replay). */
export function sendQueued(room: string, m: Member, after: number, send: SendTo): void {
  const queued = m.queued
  m.queued = null
  if (queued !== null) for (const e of queued) if (e.seq > after) sendEntry(room, m, e, send)
}

/** Delivery by a loop over the room's members, each sent to through the room's `sendTo`. */
export class MemberLoop implements Delivery {
  constructor(
    private readonly room: string,
    private readonly members: ReadonlySet<Member>,
    private readonly send: SendTo,
  ) {}

  joining(m: Member): void {
    m.queued = []
  }

  live(m: Member, after: number): void {
    sendQueued(this.room, m, after, this.send)
  }

  remove(): void {}

  deliver(entry: Entry): void {
    const raw = entry.body
    let json: string | undefined
    for (const m of this.members) {
      if (m.queued !== null) m.queued.push(entry)
      else if (m.info.mode === 'raw') this.send(m, raw)
      else if (m.info.id !== entry.origin) {
        // Encoded once per broadcast, and only if a json member needs it.
        json ??= encodeMessage(this.room, entry)
        this.send(m, json)
      }
    }
  }
}
