/**
 * The `message` hook's time limit, its replacements and the order of a member's publishes around it, in the
 * core with fakes (real timers: the limit is a runtime timer).
 */
import { describe, expect, it } from 'vitest'
import type { Hooks } from '../../src/index.ts'
import { Rejected, Room, memoryLogs } from '../../src/index.ts'
import { present } from '../support/present.ts'
import { FakeClock, FakeConnection, config, flush } from './fakes.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function roomWith(hooks: Hooks, hookTimeoutMs = 5000) {
  const cfg = config({ presenceIntervalMs: 50, hookTimeoutMs, maxFrameBytes: 1000 })
  const errors: unknown[] = []
  const room = new Room('r', { config: cfg, logs: memoryLogs(cfg), clock: new FakeClock(), onError: (e) => errors.push(e), hooks })
  const join = (mode: 'raw' | 'json', from?: string) => {
    const conn = new FakeConnection()
    const member = present(room.join(conn, { mode, from }), 'a member')
    return { conn, member }
  }
  return { room, join, errors }
}

describe('the message hook within its time limit', () => {
  it('refuses a publish whose hook does not answer in time with hook_timeout; the member stays, the error is reported', async () => {
    const { room, join, errors } = roomWith({ message: () => new Promise(() => {}) }, 30)
    const a = join('json')
    const b = join('json')
    await flush()
    room.receive(a.member, '{"type":"publish","data":1,"id":"p1"}')
    await sleep(80)
    expect(a.conn.ofType('error')).toEqual([{ type: 'error', code: 'hook_timeout', message: expect.any(String), id: 'p1' }])
    expect(b.conn.ofType('message')).toEqual([])
    expect(a.conn.closedWith).toBeNull()
    expect(errors).toHaveLength(1)
    const err = await room.publish('text', 'x').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(Rejected)
    expect(err).toMatchObject({ code: 'hook_timeout', status: 504 })
  })

  it('refuses with hook_failed when the hook rejects, and reports it', async () => {
    const { room, join, errors } = roomWith({ message: async () => Promise.reject(new Error('db down')) })
    const a = join('json')
    await flush()
    room.receive(a.member, '{"type":"publish","data":1,"id":"p1"}')
    await sleep(10)
    expect(a.conn.ofType('error')).toMatchObject([{ code: 'hook_failed', id: 'p1' }])
    expect(String(errors[0])).toContain('db down')
  })

  it("applies a member's verdicts in the order it published, whatever order the hook answers in", async () => {
    // The first publish waits longest: without the member's queue, the later ones would overtake it.
    const delays = [40, 25, 10, 0]
    let i = 0
    const { room, join } = roomWith({ message: () => sleep(delays[i++] ?? 0).then(() => undefined) })
    const a = join('json')
    const b = join('raw')
    await flush()
    for (let n = 1; n <= 4; n++) room.receive(a.member, `{"type":"publish","data":${n},"id":"p${n}"}`)
    await sleep(80)
    expect(b.conn.sent).toEqual(['1', '2', '3', '4'])
    expect(a.conn.ofType('ack').map((x) => [x.id, x.seq])).toEqual([
      ['p1', 1],
      ['p2', 2],
      ['p3', 3],
      ['p4', 4],
    ])
  })

  it('keeps the order when a synchronous verdict follows a pending one', async () => {
    let first = true
    const { room, join } = roomWith({
      message: () => {
        if (!first) return undefined
        first = false
        return sleep(20).then(() => undefined)
      },
    })
    const a = join('raw')
    const b = join('raw')
    await flush()
    room.receive(a.member, 'one')
    room.receive(a.member, 'two')
    await sleep(50)
    expect(b.conn.sent).toEqual(['one', 'two'])
  })
})

describe('the message hook replacing data', () => {
  it('publishes the replacement to everyone, as text, JSON or bytes by its type', async () => {
    const answers: unknown[] = [{ data: { clean: true } }, { data: 'now text' }, { data: new Uint8Array([1, 2]) }]
    const { room, join } = roomWith({ message: () => answers.shift() as undefined })
    const a = join('json', 'alice')
    const b = join('json')
    const raw = join('raw')
    await flush()
    room.receive(a.member, '{"type":"publish","data":{"dirty":1},"id":"p1"}')
    room.receive(a.member, '{"type":"publish","data":"x","id":"p2"}')
    room.receive(a.member, '{"type":"publish","data":"y","id":"p3"}')
    await flush()
    expect(b.conn.ofType('message').map((m) => [m.seq, m.data, m.from])).toEqual([
      [1, { clean: true }, 'alice'],
      [2, 'now text', 'alice'],
      [3, 'AQI=', 'alice'],
    ])
    expect(raw.conn.sent.slice(0, 2)).toEqual(['{"clean":true}', 'now text'])
    expect(raw.conn.sent[2]).toEqual(new Uint8Array([1, 2]))
    expect(a.conn.ofType('ack').map((x) => x.id)).toEqual(['p1', 'p2', 'p3'])
  })

  it('replaces an HTTP publish too, and refuses a replacement over MAX_FRAME_BYTES or without JSON with hook_failed', async () => {
    const big = 'x'.repeat(2000)
    const answers: unknown[] = [{ data: [1, 2] }, { data: big }, { data: { n: 1n } }]
    const { room, join, errors } = roomWith({ message: () => answers.shift() as undefined })
    const b = join('json')
    await flush()
    expect(await room.publish('text', 'orig')).toBe(1)
    expect(b.conn.ofType('message')).toMatchObject([{ seq: 1, data: [1, 2] }])
    await expect(room.publish('text', 'orig')).rejects.toMatchObject({ code: 'hook_failed', status: 500 })
    await expect(room.publish('text', 'orig')).rejects.toMatchObject({ code: 'hook_failed', status: 500 })
    expect(errors).toHaveLength(2)
    expect((await room.stats()).seq).toBe(1)
  })

  it("gives an HTTP publisher the rejection's own 4xx status, 422 otherwise", async () => {
    const answers: unknown[] = [
      { reject: 'legal', status: 451 },
      { reject: 'odd', status: 200 },
    ]
    const { room } = roomWith({ message: () => answers.shift() as undefined })
    await expect(room.publish('text', 'a')).rejects.toMatchObject({ code: 'legal', status: 451 })
    await expect(room.publish('text', 'a')).rejects.toMatchObject({ code: 'odd', status: 422 })
  })
})
