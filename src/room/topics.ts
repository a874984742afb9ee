/**
 * A runtime's native one-to-many send, as a capability: where a runtime has
 * one (Bun's topics, uWebSockets underneath), a room hands each broadcast over
 * once per mode and the runtime writes it to every subscribed socket, batched
 * per socket. Without it the room sends to each member itself.
 */
import type { Connection } from './connection.ts'
import type { Entry } from '../log/entry.ts'
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
 * The members of one room as a Fanout sees them: live members are subscribed
 * to their mode's topic; members still getting their welcome and replay are
 * not, and collect live entries themselves until they are.
 */
export class FanoutGroup {
  /** Members whose welcome is not done: they collect entries in `pending`. */
  readonly joining = new Set<Member>()
  /** Live json members by connection id, so a publisher can be left out of its own message. */
  private readonly json = new Map<string, Member>()
  private raw = 0
  private readonly rawTopic: string
  private readonly jsonTopic: string

  constructor(
    private readonly fanout: Fanout,
    room: string,
    private readonly encode: (entry: Entry) => string,
  ) {
    // Room names have no spaces, so these never collide with another room's.
    this.rawTopic = `${room} raw`
    this.jsonTopic = `${room} json`
  }

  /** The member's welcome is done: live entries reach it through its topic from now on. */
  live(m: Member): void {
    this.joining.delete(m)
    if (m.info.mode === 'raw') {
      this.raw++
      this.fanout.subscribe(m.conn, this.rawTopic)
    } else {
      this.json.set(m.info.id, m)
      this.fanout.subscribe(m.conn, this.jsonTopic)
    }
  }

  /** The member left (or never finished joining). */
  remove(m: Member): void {
    if (this.joining.delete(m)) return
    if (m.info.mode === 'raw') {
      this.raw--
      this.fanout.unsubscribe(m.conn, this.rawTopic)
    } else if (this.json.delete(m.info.id)) {
      this.fanout.unsubscribe(m.conn, this.jsonTopic)
    }
  }

  /** One broadcast: queued for joining members, one publish per mode for the live ones. */
  deliver(entry: Entry): void {
    for (const m of this.joining) m.pending?.push(entry)
    if (this.raw > 0) this.fanout.publish(this.rawTopic, entry.body)
    if (this.json.size > 0) {
      const origin = entry.origin === undefined ? undefined : this.json.get(entry.origin)
      this.fanout.publish(this.jsonTopic, this.encode(entry), origin?.conn)
    }
  }
}
