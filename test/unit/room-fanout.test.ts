import { describe, expect, it } from 'vitest'
import type { Config, Connection, Fanout, JoinRequest } from '../../src/index.ts'
import { Room, memoryLogs } from '../../src/index.ts'
import { at, present } from '../support/present.ts'
import { FakeClock, FakeConnection, config, flush } from './fakes.ts'

type Event = [what: string, who: string, detail: string]

/** A connection that also writes its sends into a shared timeline. */
class TimedConnection extends FakeConnection {
  constructor(
    readonly name: string,
    private readonly timeline: Event[],
  ) {
    super()
  }
  override send(data: string | Uint8Array): void {
    super.send(data)
    this.timeline.push(['send', this.name, typeof data === 'string' ? data : `<${data.byteLength} bytes>`])
  }
}

/** A runtime's topics, recorded: who is subscribed, and every publish. */
class FakeFanout implements Fanout {
  readonly topics = new Map<string, Set<Connection>>()
  readonly published: { topic: string; data: string | Uint8Array; except?: string }[] = []
  constructor(private readonly timeline: Event[]) {}
  subscribe(conn: Connection, topic: string): void {
    const subscribed = this.topics.get(topic) ?? new Set<Connection>()
    this.topics.set(topic, subscribed.add(conn))
    this.timeline.push(['subscribe', (conn as TimedConnection).name, topic])
  }
  unsubscribe(conn: Connection, topic: string): void {
    this.topics.get(topic)?.delete(conn)
    this.timeline.push(['unsubscribe', (conn as TimedConnection).name, topic])
  }
  publish(topic: string, data: string | Uint8Array, except?: Connection): void {
    const e: { topic: string; data: string | Uint8Array; except?: string } = { topic, data }
    if (except !== undefined) e.except = (except as TimedConnection).name
    this.published.push(e)
  }
  subscribers(topic: string): string[] {
    return [...(this.topics.get(topic) ?? [])].map((c) => (c as TimedConnection).name).sort()
  }
}

function setup(overrides: Partial<Config> = {}) {
  const timeline: Event[] = []
  const clock = new FakeClock()
  const cfg = config({ presenceIntervalMs: 50, ...overrides })
  const fanout = new FakeFanout(timeline)
  const room = new Room('r', { config: cfg, logs: memoryLogs(cfg), clock, fanout })
  const join = (name: string, req: Partial<JoinRequest> = {}) => {
    const conn = new TimedConnection(name, timeline)
    const member = present(room.join(conn, { mode: 'raw', ...req }), `member ${name}`)
    return { conn, member }
  }
  return { timeline, clock, room, fanout, join }
}

describe('Room over a runtime fan-out (topics)', () => {
  it('publishes each broadcast once per mode, and leaves a json publisher out of its own message', async () => {
    const { room, fanout, join } = setup()
    const a = join('a')
    join('b')
    const c = join('c', { mode: 'json' })
    join('d', { mode: 'json' })
    await flush()
    expect(fanout.subscribers('r raw')).toEqual(['a', 'b'])
    expect(fanout.subscribers('r json')).toEqual(['c', 'd'])

    room.receive(c.member, '{"type":"publish","data":"hi"}')
    room.receive(a.member, 'raw text')
    expect(fanout.published.map((p) => [p.topic, p.except])).toEqual([
      ['r raw', undefined],
      ['r json', 'c'],
      ['r raw', undefined],
      ['r json', undefined],
    ])
    expect(fanout.published[0]?.data).toBe('hi')
    expect(JSON.parse(at(fanout.published, 1).data as string)).toMatchObject({ type: 'message', seq: 1, data: 'hi' })
    expect(fanout.published[2]?.data).toBe('raw text')
    // Nothing of the broadcasts went through a member's own send.
    expect(a.conn.sent).toEqual([])
  })

  it('publishes an HTTP publish to every json member, and binary as bytes', async () => {
    const { room, fanout, join } = setup()
    join('a')
    join('j', { mode: 'json' })
    await flush()
    await room.publish('binary', new Uint8Array([1, 2, 3]))
    expect(fanout.published[0]).toEqual({ topic: 'r raw', data: new Uint8Array([1, 2, 3]) })
    expect(at(fanout.published, 1).except).toBeUndefined()
    expect(JSON.parse(at(fanout.published, 1).data as string)).toMatchObject({ data: 'AQID', binary: true })
  })

  it('sends a joining member its welcome and what arrives meanwhile itself, in order, and subscribes it only then', async () => {
    const { room, fanout, timeline, join } = setup()
    const a = join('a')
    await flush()
    const late = join('late', { mode: 'json' })
    // Published while `late` waits for its welcome: it must reach it directly, once, after the welcome.
    room.receive(a.member, 'one')
    room.receive(a.member, 'two')
    await flush()
    room.receive(a.member, 'three')
    const mine = timeline
      .filter(([, who]) => who === 'late')
      .map(([what, , detail]) => (what === 'send' ? JSON.parse(detail).type + (JSON.parse(detail).data ?? '') : what))
    expect(mine).toEqual(['welcome', 'messageone', 'messagetwo', 'subscribe', 'presence'])
    // 'three' went to the topic only.
    expect(fanout.published.filter((p) => p.topic === 'r json').map((p) => JSON.parse(p.data as string).data)).toEqual(['three'])
    expect(late.conn.ofType('message').map((f) => f.data)).toEqual(['one', 'two'])
  })

  it('unsubscribes members that leave or are dropped, and no member that never finished joining', async () => {
    const { room, fanout, timeline, join } = setup()
    const a = join('a')
    const j = join('j', { mode: 'json' })
    await flush()
    const gone = join('gone')
    room.leave(gone.member) // before its welcome: it never subscribed
    room.leave(a.member)
    room.closeAll()
    expect(timeline.filter(([what]) => what === 'unsubscribe')).toEqual([
      ['unsubscribe', 'a', 'r raw'],
      ['unsubscribe', 'j', 'r json'],
    ])
    expect(fanout.subscribers('r raw')).toEqual([])
    expect(fanout.subscribers('r json')).toEqual([])
    expect(j.conn.closedWith?.code).toBe(1001)
  })

  it('closes a slow consumer with 1013 once the turn is over, since broadcasts bypass its send', async () => {
    const { room, clock, join } = setup({ maxBufferedBytes: 1000 })
    const slow = join('slow')
    const fast = join('fast')
    await flush()
    slow.conn.buffered = 5000
    room.receive(fast.member, 'x')
    expect(slow.conn.closedWith).toBeNull()
    clock.advance(0)
    expect(slow.conn.closedWith?.code).toBe(1013)
    expect(fast.conn.closedWith).toBeNull()
    expect(room.size).toBe(1)
  })
})
