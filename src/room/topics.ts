/**
 * A runtime's native one-to-many send, as a capability: where a runtime has
 * one (Bun's topics, uWebSockets underneath), a room hands each broadcast over
 * once per mode and the runtime writes it to every subscribed socket, batched
 * per socket. Without it the room loops over its members (delivery.ts).
 */
import type { Entry } from '../log/entry.ts'
import { encodeMessage } from '../wire/encode.ts'
import type { Connection } from './connection.ts'
import type { Delivery, SendTo } from './delivery.ts'
import { sendQueued } from './delivery.ts'
import type { Member } from './member.ts'

/** What a runtime offers for native fan-out. Topics are plain strings; the core picks them. */
export interface Fanout {
  /** Deliver what is published to `topic` to this connection from now on. */
  subscribe(conn: Connection, topic: string): void
  /** Stop delivering `topic` to this connection. */
  unsubscribe(conn: Connection, topic: string): void
  /** Send `data` (text, or bytes as binary) to every connection subscribed to `topic`, except `except`. */
  publish(topic: string, data: string | Uint8Array, except?: Connection): void
}

/**
 * Delivery through a runtime's topics: live members are subscribed to their
 * mode's topic; members still being welcomed are not, and their entries are
 * queued until `live` has sent them. Topic publishes bypass the room's
 * `sendTo`, so after each broadcast `bypassed` lets the room check buffers
 * once that turn.
 */
export class TopicDelivery implements Delivery {
  /** Members whose welcome is not done: they get entries through their queue. */
  private readonly welcoming = new Set<Member>()
  /** Live json members by connection id, so a publisher can be left out of its own message. */
  private readonly json = new Map<string, Member>()
  private raw = 0
  private readonly rawTopic: string
  private readonly jsonTopic: string

  constructor(
    private readonly fanout: Fanout,
    private readonly room: string,
    /** The room's send to one member, for what was queued during a welcome. */
    private readonly send: SendTo,
    private readonly bypassed: () => void,
  ) {
    // Room names have no spaces, so these never collide with another room's.
    this.rawTopic = `${room} raw`
    this.jsonTopic = `${room} json`
  }

  joining(m: Member): void {
    m.queued = []
    this.welcoming.add(m)
  }

  live(m: Member, after: number): void {
    // Queued entries first, then the subscription, so none can come twice or out of order.
    sendQueued(this.room, m, after, this.send)
    // A send just now may have closed it (a slow consumer), and then remove() has run.
    if (m.closed) return
    this.welcoming.delete(m)
    if (m.info.mode === 'raw') {
      this.raw++
      this.fanout.subscribe(m.conn, this.rawTopic)
    } else {
      this.json.set(m.info.id, m)
      this.fanout.subscribe(m.conn, this.jsonTopic)
    }
  }

  remove(m: Member): void {
    if (this.welcoming.delete(m)) return
    if (m.info.mode === 'raw') {
      this.raw--
      this.fanout.unsubscribe(m.conn, this.rawTopic)
    } else if (this.json.delete(m.info.id)) {
      this.fanout.unsubscribe(m.conn, this.jsonTopic)
    }
  }

  deliver(entry: Entry): void {
    for (const m of this.welcoming) m.queued?.push(entry)
    if (this.raw > 0) this.fanout.publish(this.rawTopic, entry.body)
    if (this.json.size > 0) {
      const origin = entry.origin === undefined ? undefined : this.json.get(entry.origin)
      this.fanout.publish(this.jsonTopic, encodeMessage(this.room, entry), origin?.conn)
    }
    this.bypassed()
  }
}
