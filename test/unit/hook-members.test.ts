/**
 * `authorize`'s identity (`info`, its bound, its time limit, `auth: 'replace'`), `joined` / `left` with
 * their reasons, and the server-side API over a Hub, in the core with fakes.
 */
import { describe, expect, it } from 'vitest'
import type { Hooks, JoinRequest, LeftEvent, MemberEvent, RoomGateway } from '../../src/index.ts'
import { Hub, MAX_INFO_BYTES, Room, createApp, hubApi, memoryLogs, mintToken, readConfig } from '../../src/index.ts'
import { present } from '../support/present.ts'
import { FakeClock, FakeConnection, config, flush } from './fakes.ts'

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))
const UPGRADE = { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==', 'sec-websocket-version': '13' }

/** A gateway that records the join requests of upgrades it is handed. */
function recordingGateway() {
  const joins: JoinRequest[] = []
  const gateway: RoomGateway = {
    isFull: () => false,
    upgrade: (_c, _room, join) => {
      joins.push(join)
      return new Response(null, { status: 200 })
    },
    stats: async (room) => ({ room, connections: 0, seq: 0 }),
    publish: async () => ({ seq: 1, duplicate: false, mismatch: false }),
  }
  return { gateway, joins }
}

describe('authorize: identity, info and time limit', () => {
  it('carries info with the member, copied, and refuses an info over MAX_INFO_BYTES with hook_failed', async () => {
    const { gateway, joins } = recordingGateway()
    let info: Record<string, unknown> = { team: 'blue' }
    const errors: unknown[] = []
    const app = createApp({ config: config(), gateway, hooks: { authorize: () => ({ sub: 'al', info }) }, onError: (e) => errors.push(e) })
    expect((await app.request('/rooms/r', { headers: UPGRADE })).status).toBe(200)
    expect(joins[0]).toMatchObject({ from: 'al', info: { team: 'blue' } })
    expect(joins[0]?.info).not.toBe(info)
    info = { big: 'x'.repeat(MAX_INFO_BYTES) }
    const refused = await app.request('/rooms/r', { headers: UPGRADE })
    expect(refused.status).toBe(500)
    expect(refused.headers.get('x-roomcast-error')).toBe('hook_failed')
    info = [1] as unknown as Record<string, unknown>
    expect((await app.request('/rooms/r', { headers: UPGRADE })).status).toBe(500)
    expect(joins).toHaveLength(1)
    expect(errors).toHaveLength(2)
  })

  it('refuses with 504 hook_timeout when it does not answer within HOOK_TIMEOUT_MS', async () => {
    const { gateway, joins } = recordingGateway()
    const app = createApp({ config: config({ hookTimeoutMs: 20 }), gateway, hooks: { authorize: () => sleep(200).then(() => ({})) }, onError: () => {} })
    const res = await app.request('/rooms/r', { headers: UPGRADE })
    expect(res.status).toBe(504)
    expect(res.headers.get('x-roomcast-error')).toBe('hook_timeout')
    expect((await app.request('/rooms/r/messages', { method: 'POST', body: 'x' })).status).toBe(504)
    expect(joins).toEqual([])
  })

  it("sits after the token check by default, and replaces it with auth: 'replace'", async () => {
    const secret = 's'.repeat(32)
    const cfg = readConfig({ AUTH_SECRET: secret })
    const hooks: Hooks = { authorize: ({ request, grant }) => ({ sub: request.headers.get('x-user') ?? grant?.sub ?? 'anon' }) }
    const after = recordingGateway()
    const afterApp = createApp({ config: cfg, gateway: after.gateway, hooks })
    expect((await afterApp.request('/rooms/r', { headers: { ...UPGRADE, 'x-user': 'al' } })).status).toBe(401)
    const token = await mintToken(secret, { sub: 'tok', rooms: ['r'], ttlSeconds: 60 })
    expect((await afterApp.request(`/rooms/r?token=${token}`, { headers: UPGRADE })).status).toBe(200)
    expect(after.joins[0]?.from).toBe('tok')
    const replaced = recordingGateway()
    const replaceApp = createApp({ config: cfg, gateway: replaced.gateway, hooks, auth: 'replace' })
    expect((await replaceApp.request('/rooms/r', { headers: { ...UPGRADE, 'x-user': 'al' } })).status).toBe(200)
    expect(replaced.joins[0]?.from).toBe('al')
    expect((await replaceApp.request('/rooms/r/messages', { method: 'POST', body: 'x' })).status).toBe(202)
    expect(() => createApp({ config: cfg, gateway: replaced.gateway, auth: 'replace' })).toThrow(/authorize/)
  })
})

describe('joined and left', () => {
  function roomWith(hooks: Hooks) {
    const clock = new FakeClock()
    const cfg = config({ presenceIntervalMs: 50, idleTimeoutMs: 1000, maxBufferedBytes: 100 })
    const errors: unknown[] = []
    const room = new Room('r', { config: cfg, logs: memoryLogs(cfg), clock, onError: (e) => errors.push(e), hooks })
    const join = (req: Partial<JoinRequest> = {}) => {
      const conn = new FakeConnection()
      return { conn, member: present(room.join(conn, { mode: 'json', ...req }), 'a member') }
    }
    return { room, join, clock, errors }
  }

  it('tells who joined and who left with why: closed, slow_consumer, idle_timeout, token_expired, kicked', async () => {
    const joined: MemberEvent[] = []
    const left: LeftEvent[] = []
    const { room, join, clock } = roomWith({ joined: (e) => void joined.push(e), left: (e) => void left.push(e) })
    const a = join({ from: 'alice', info: { team: 'blue' } })
    expect(joined).toEqual([{ room: 'r', connectionId: a.member.info.id, mode: 'json', sub: 'alice', info: { team: 'blue' } }])
    room.leave(a.member)
    const slow = join({ mode: 'raw' })
    const idle = join()
    const expiring = join({ exp: clock.now() + 10 })
    const kicked = join({ from: 'mallory' })
    await flush()
    slow.conn.buffered = 1000
    room.receive(kicked.member, '{"type":"publish","data":1}')
    clock.advance(20)
    room.expire()
    expect(room.disconnect({ sub: 'mallory' })).toBe(1)
    clock.advance(2000)
    room.sweep()
    const why = Object.fromEntries(left.map((e) => [e.connectionId, e.reason]))
    expect(why).toEqual({
      [a.member.info.id]: 'closed',
      [slow.member.info.id]: 'slow_consumer',
      [expiring.member.info.id]: 'token_expired',
      [kicked.member.info.id]: 'kicked',
      [idle.member.info.id]: 'idle_timeout',
    })
    expect(left[0]).toMatchObject({ sub: 'alice', info: { team: 'blue' }, mode: 'json' })
    expect(kicked.conn.closedWith?.code).toBe(4002)
    expect(joined).toHaveLength(5)
  })

  it('isolates their failures: thrown, rejected or slow, the room carries on and onError hears of it', async () => {
    const { room, join, errors } = roomWith({
      joined: () => {
        throw new Error('joined broke')
      },
      left: async () => Promise.reject(new Error('left broke')),
    })
    const a = join()
    const b = join()
    await flush()
    room.leave(a.member)
    room.receive(b.member, '{"type":"publish","data":1,"id":"p1"}')
    await flush()
    expect(b.conn.ofType('ack')).toMatchObject([{ id: 'p1', seq: 1 }])
    expect(errors.map(String)).toEqual([
      expect.stringContaining('joined broke'),
      expect.stringContaining('joined broke'),
      expect.stringContaining('left broke'),
    ])
  })
})

describe('the server-side API over a Hub', () => {
  it('publishes without the message hook (seq back), lists rooms with counts, gives stats, disconnects by sub or connection id', async () => {
    const cfg = config({ presenceIntervalMs: 50 })
    const left: LeftEvent[] = []
    const hub = new Hub({ config: cfg, clock: new FakeClock(), hooks: { message: () => ({ reject: 'no' }), left: (e) => void left.push(e) } })
    const api = hubApi(hub)
    const a = new FakeConnection()
    const b = new FakeConnection()
    const ma = present(hub.room('r').join(a, { mode: 'json', from: 'alice' }), 'a')
    hub.room('r').join(b, { mode: 'json', from: 'bob' })
    hub.room('q')
    await flush()
    expect(await api.publish('r', { hello: 1 }, { from: 'server' })).toBe(1)
    expect(await api.publish('r', 'text')).toBe(2)
    expect(a.ofType('message').map((m) => [m.seq, m.data, m.from])).toEqual([
      [1, { hello: 1 }, 'server'],
      [2, 'text', undefined],
    ])
    expect(api.rooms()).toEqual([
      { room: 'r', connections: 2 },
      { room: 'q', connections: 0 },
    ])
    expect(await api.stats('r')).toEqual({ room: 'r', connections: 2, seq: 2 })
    expect(await api.disconnect('r', { connectionId: ma.info.id })).toBe(1)
    expect(await api.disconnect('r', { sub: 'bob' }, 'shutting_down')).toBe(1)
    expect(await api.disconnect('r', { sub: 'nobody' })).toBe(0)
    expect(await api.disconnect('none', { sub: 'bob' })).toBe(0)
    expect(a.closedWith?.code).toBe(4002)
    expect(b.closedWith?.code).toBe(1001)
    expect(left.map((e) => e.reason)).toEqual(['kicked', 'shutting_down'])
    await expect(api.publish('bad room', 1)).rejects.toThrow(RangeError)
    await expect(api.disconnect('r', {})).rejects.toThrow(TypeError)
    await expect(api.disconnect('r', { sub: 'x' }, 'rate_limited')).rejects.toThrow(RangeError)
    hub.closeAll()
  })
})
