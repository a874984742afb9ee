/**
 * The application's hooks in the core, with fakes: `message` in the Room (WebSocket and HTTP publishes),
 * `authorize` in the app (upgrades and HTTP room requests), and the app mounted under a prefix.
 */
import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import type { Hooks, MessageRequest, RoomGateway } from '../../src/index.ts'
import { Rejected, Room, createApp, memoryLogs } from '../../src/index.ts'
import { present } from '../support/present.ts'
import { FakeClock, FakeConnection, config, flush } from './fakes.ts'

function roomWith(hooks: Hooks) {
  const cfg = config({ presenceIntervalMs: 50 })
  const errors: unknown[] = []
  const room = new Room('r', { config: cfg, logs: memoryLogs(cfg), clock: new FakeClock(), onError: (e) => errors.push(e), hooks })
  const join = (mode: 'raw' | 'json', from?: string) => {
    const conn = new FakeConnection()
    const member = present(room.join(conn, { mode, from }), 'a member')
    return { conn, member }
  }
  return { room, join, errors }
}

const spoilers: Hooks = {
  message: ({ data }) => (JSON.stringify(data).includes('spoiler') ? { reject: 'rejected', message: 'no spoilers' } : undefined),
}

describe('the message hook', () => {
  it('is asked with the room, kind, parsed data and publisher, before the publish gets a seq', async () => {
    const asked: MessageRequest[] = []
    const { room, join } = roomWith({ message: (m) => void asked.push(m) })
    const a = join('json', 'alice')
    const raw = join('raw')
    await flush()
    room.receive(a.member, '{"type":"publish","data":{"n":1},"id":"p1"}')
    room.receive(a.member, '{"type":"publish","data":"text"}')
    room.receive(raw.member, 'plain')
    await flush()
    expect(asked).toEqual([
      { room: 'r', kind: 'json', data: { n: 1 }, from: 'alice', connectionId: a.member.info.id },
      { room: 'r', kind: 'text', data: 'text', from: 'alice', connectionId: a.member.info.id },
      { room: 'r', kind: 'text', data: 'plain', connectionId: raw.member.info.id },
    ])
    expect(a.conn.ofType('ack')).toEqual([{ type: 'ack', id: 'p1', seq: 1 }])
  })

  it("rejects with the app's code for the publish's id: no seq taken, nobody receives it", async () => {
    const { room, join } = roomWith(spoilers)
    const a = join('json')
    const b = join('json')
    const raw = join('raw')
    await flush()
    for (const m of [a, b, raw]) m.conn.sent = []
    room.receive(a.member, '{"type":"publish","data":"a spoiler","id":"p1"}')
    await flush()
    expect(a.conn.frames()).toEqual([{ type: 'error', code: 'rejected', message: 'no spoilers', id: 'p1' }])
    expect(b.conn.sent).toEqual([])
    expect(raw.conn.sent).toEqual([])
    room.receive(a.member, '{"type":"publish","data":"fine","id":"p2"}')
    await flush()
    expect(a.conn.ofType('ack')).toEqual([{ type: 'ack', id: 'p2', seq: 1 }])
    expect(b.conn.ofType('message')).toMatchObject([{ seq: 1, data: 'fine' }])
  })

  it('keeps a member connected when the hook throws: hook_failed for that publish, the error reported', async () => {
    const { room, join, errors } = roomWith({
      message: () => {
        throw new Error('boom')
      },
    })
    const a = join('json')
    await flush()
    room.receive(a.member, '{"type":"publish","data":1,"id":"p1"}')
    await flush()
    expect(a.conn.ofType('error')).toMatchObject([{ code: 'hook_failed', id: 'p1' }])
    expect(a.conn.closedWith).toBeNull()
    expect(errors).toHaveLength(1)
  })

  it('keeps a member order when the hook answers asynchronously', async () => {
    const { room, join } = roomWith({ message: async () => undefined })
    const a = join('json')
    const b = join('json')
    await flush()
    for (let i = 1; i <= 5; i++) room.receive(a.member, `{"type":"publish","data":${i},"id":"p${i}"}`)
    await flush()
    expect(b.conn.ofType('message').map((m) => m.data)).toEqual([1, 2, 3, 4, 5])
    expect(a.conn.ofType('ack').map((x) => x.id)).toEqual(['p1', 'p2', 'p3', 'p4', 'p5'])
  })

  it('refuses an HTTP publish with Rejected: 422 and the code, or 500 hook_failed when it throws', async () => {
    const { room } = roomWith(spoilers)
    await expect(room.publish('json', '{"text":"spoiler"}')).rejects.toMatchObject({ code: 'rejected', status: 422 })
    expect(await room.publish('text', 'fine')).toBe(1)
    const failing = roomWith({
      message: () => {
        throw new Error('boom')
      },
    })
    const err = await failing.room.publish('text', 'x').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(Rejected)
    expect(err).toMatchObject({ code: 'hook_failed', status: 500 })
  })
})

/** A gateway that records HTTP publishes; upgrades are never reached in these tests. */
function fakeGateway() {
  const published: { room: string; body: string; from?: string }[] = []
  const gateway: RoomGateway = {
    isFull: () => false,
    upgrade: () => new Response(null, { status: 418 }),
    stats: async (room) => ({ room, connections: 0, seq: 0 }),
    publish: async (room, _kind, body, from) => {
      published.push(from === undefined ? { room, body } : { room, body, from })
      return { seq: published.length, duplicate: false, mismatch: false }
    },
  }
  return { gateway, published }
}

describe('the authorize hook', () => {
  const post = (app: ReturnType<typeof createApp>, path: string, headers: Record<string, string> = {}) =>
    app.request(path, { method: 'POST', headers: { 'Content-Type': 'text/plain', ...headers }, body: 'hi' })

  it("refuses with the app's status and code, admits with its sub as `from`", async () => {
    const { gateway, published } = fakeGateway()
    const app = createApp({
      config: config(),
      gateway,
      hooks: {
        authorize: ({ request, room, action }) =>
          request.headers.get('x-user') === null ? { deny: 'no_session', status: 401 } : { sub: `${request.headers.get('x-user')}@${room}:${action}` },
      },
    })
    const refused = await post(app, '/rooms/r/messages')
    expect(refused.status).toBe(401)
    expect(refused.headers.get('x-roomcast-error')).toBe('no_session')
    expect(await refused.json()).toMatchObject({ error: 'no_session' })
    expect((await post(app, '/rooms/r/messages', { 'X-User': 'alice' })).status).toBe(202)
    expect(published).toEqual([{ room: 'r', body: 'hi', from: 'alice@r:publish' }])
    expect((await app.request('/rooms/r')).status).toBe(401)
  })

  it('refuses with 500 hook_failed when it throws or names a bad sub, and 403 when it says read-only', async () => {
    const { gateway, published } = fakeGateway()
    const build = (authorize: Hooks['authorize']) => createApp({ config: config(), gateway, hooks: { authorize } })
    const throwing = await post(
      build(() => {
        throw new Error('boom')
      }),
      '/rooms/r/messages',
    )
    expect(throwing.status).toBe(500)
    expect(throwing.headers.get('x-roomcast-error')).toBe('hook_failed')
    expect(
      (
        await post(
          build(() => ({ sub: '' })),
          '/rooms/r/messages',
        )
      ).status,
    ).toBe(500)
    expect(
      (
        await post(
          build(() => ({ sub: 'x'.repeat(257) })),
          '/rooms/r/messages',
        )
      ).status,
    ).toBe(500)
    expect(
      (
        await post(
          build(() => ({ canPublish: false })),
          '/rooms/r/messages',
        )
      ).status,
    ).toBe(403)
    expect(published).toEqual([])
  })
})

describe('the app under a prefix', () => {
  it('serves its page at /live/ (redirecting /live), the scripts beside it, health and rooms, behind the host app', async () => {
    const { gateway } = fakeGateway()
    const host = new Hono()
    host.get('/api/hello', (c) => c.json({ hello: 'world' }))
    host.route('/live', createApp({ config: config(), gateway }))
    const bare = await host.request('/live?room=demo')
    expect(bare.status).toBe(308)
    expect(bare.headers.get('location')).toBe('/live/?room=demo')
    const page = await host.request('/live/')
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('<script src="client/chat.js"></script>')
    for (const path of ['/live/client/chat.js', '/live/client/roomcast.js', '/live/healthz', '/live/rooms/demo'])
      expect((await host.request(path)).status, path).toBe(200)
    expect((await host.request('/api/hello')).status).toBe(200)
    expect((await host.request('/live/nothing')).status).toBe(404)
  })
})
