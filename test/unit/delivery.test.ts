/** The two deliveries of a room, held to the same rule: a member being welcomed gets no live entry until `live`, then exactly what its replay did not cover, in order. */
import { describe, expect, it } from 'vitest'
import { Member } from '../../src/index.ts'
import type { Connection, Entry, Fanout, Mode } from '../../src/index.ts'
import type { Delivery, SendTo } from '../../src/room/delivery.ts'
import { MemberLoop } from '../../src/room/delivery.ts'
import { TopicDelivery } from '../../src/room/topics.ts'
import { FakeConnection } from './fakes.ts'

/** A runtime's topics that send to their subscribers at once, so both deliveries can be read the same way. */
class SendingFanout implements Fanout {
  readonly topics = new Map<string, Set<Connection>>()
  subscribe(conn: Connection, topic: string): void {
    if (!this.topics.has(topic)) this.topics.set(topic, new Set())
    this.topics.get(topic)?.add(conn)
  }
  unsubscribe(conn: Connection, topic: string): void {
    this.topics.get(topic)?.delete(conn)
  }
  publish(topic: string, data: string | Uint8Array, except?: Connection): void {
    for (const c of this.topics.get(topic) ?? []) if (c !== except) c.send(data)
  }
}

const entry = (seq: number, origin?: string): Entry => ({ seq, kind: 'text', body: `e${seq}`, ts: 0, ...(origin === undefined ? {} : { origin }) })

function setup(kind: 'loop' | 'topics') {
  const members = new Set<Member>()
  // As the room sends: never to a closed member.
  const send: SendTo = (m, data) => void (m.closed || m.conn.send(data))
  let bypassed = 0
  const delivery: Delivery = kind === 'loop' ? new MemberLoop('r', members, send) : new TopicDelivery(new SendingFanout(), 'r', send, () => bypassed++)
  let ids = 0
  const join = (mode: Mode = 'raw') => {
    const conn = new FakeConnection()
    const m = new Member(conn, { id: `c${++ids}`, mode, canPublish: true }, 0, 10)
    members.add(m)
    delivery.joining(m)
    return { m, conn }
  }
  /** What a connection received, as the entries' bodies (json messages by their data). */
  const got = (conn: FakeConnection) => conn.sent.map((d) => (typeof d === 'string' && d.startsWith('{') ? JSON.parse(d).data : d))
  /** What the room does when a member is dropped. */
  const drop = (m: Member) => {
    m.closed = true
    members.delete(m)
    delivery.remove(m)
  }
  return { delivery, join, drop, got, bypasses: () => bypassed }
}

describe.each(['loop', 'topics'] as const)('delivery by %s', (kind) => {
  it('queues entries for a member being welcomed and sends it, once live, those after its replay, then live ones', () => {
    const { delivery, join, got } = setup(kind)
    const a = join()
    delivery.live(a.m, 0)
    const late = join()
    delivery.deliver(entry(1))
    delivery.deliver(entry(2))
    delivery.deliver(entry(3))
    expect(got(late.conn)).toEqual([])
    // Its replay reached seq 1: the queue must not repeat it.
    delivery.live(late.m, 1)
    delivery.deliver(entry(4))
    expect(got(late.conn)).toEqual(['e2', 'e3', 'e4'])
    expect(got(a.conn)).toEqual(['e1', 'e2', 'e3', 'e4'])
    expect(late.m.live).toBe(true)
  })

  it('leaves a json publisher out of its own message, and sends raw members everything', () => {
    const { delivery, join, got } = setup(kind)
    const pub = join('json')
    const other = join('json')
    const raw = join('raw')
    for (const x of [pub, other, raw]) delivery.live(x.m, 0)
    delivery.deliver(entry(1, pub.m.info.id))
    expect(got(pub.conn)).toEqual([])
    expect(got(other.conn)).toEqual(['e1'])
    expect(got(raw.conn)).toEqual(['e1'])
  })

  it('makes a member that was never queued for (restored) live with nothing to catch up', () => {
    const { delivery, got } = setup(kind)
    const conn = new FakeConnection()
    const m = new Member(conn, { id: 'x', mode: 'raw', canPublish: true }, 0, 10)
    if (kind === 'loop') return expect(m.live).toBe(true)
    delivery.live(m, 0)
    delivery.deliver(entry(1))
    expect(got(conn)).toEqual(['e1'])
  })

  it('does not make a member live that was closed while catching up', () => {
    const { delivery, join, drop, got } = setup(kind)
    const a = join()
    delivery.deliver(entry(1))
    drop(a.m)
    delivery.live(a.m, 0)
    delivery.deliver(entry(2))
    expect(got(a.conn)).toEqual([])
  })
})

describe('delivery by topics', () => {
  it('tells the room after each broadcast that its sends bypassed sendTo', () => {
    const { delivery, bypasses } = setup('topics')
    delivery.deliver(entry(1))
    delivery.deliver(entry(2))
    expect(bypasses()).toBe(2)
  })
})
