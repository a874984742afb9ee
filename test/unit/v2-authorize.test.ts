/**
 * The `authorize` hook and protocol v2: asked at the upgrade with no room (may the connection open, and as
 * whom), then per room at each subscribe and at the first publish to a room, its verdict kept per room.
 */
import { describe, expect, it } from 'vitest'
import type { AuthorizeRequest, AuthorizeResult, ConnectRequest, Decision, Grant, Hooks, RoomAccess, RoomGateway } from '../../src/index.ts'
import { Hub, Session, createApp, decideWith } from '../../src/index.ts'
import { FakeClock, FakeConnection, config, flush } from './fakes.ts'

/** A RoomAccess over an in-process hook, recording every question. */
function accessOf(hook: (req: AuthorizeRequest) => AuthorizeResult | Promise<AuthorizeResult>, base = {}, timeoutMs = 1000) {
  const asked: [string, string][] = []
  const access: RoomAccess = {
    base,
    ask: (room, action) => {
      asked.push([room, action])
      return decideWith(hook as NonNullable<Hooks['authorize']>, { room, action, protocol: 'roomcast.v2' } as AuthorizeRequest, timeoutMs, () => {})
    },
  }
  return { access, asked }
}

function setup(access: RoomAccess | undefined, grant?: Grant) {
  const clock = new FakeClock()
  const hub = new Hub({ config: config({ maxSubscriptions: 3 }), clock })
  const open = (g = grant, a = access) => {
    const conn = new FakeConnection()
    const session = new Session(hub, conn, g, clock, undefined, undefined, a === undefined ? {} : { access: a })
    session.open()
    const send = (frame: object) => session.receive(JSON.stringify(frame))
    return { conn, session, send }
  }
  return { hub, open }
}

describe('a v2 session with an authorize hook', () => {
  it('asks at each subscribe with the room; a denial is an error frame with the room, id and code, and the connection stays', async () => {
    const { access, asked } = accessOf(({ room }) =>
      room === 'secret' ? { deny: 'members_only', message: 'join the club' } : room === 'bad' ? { deny: 'Not A Code!' } : { sub: `ann@${room}` },
    )
    const { open } = setup(access)
    const a = open()
    a.send({ type: 'subscribe', room: 'open', id: 'o' })
    a.send({ type: 'subscribe', room: 'secret', id: 's' })
    a.send({ type: 'subscribe', room: 'bad', id: 'b' })
    await flush()
    expect(asked).toEqual([
      ['open', 'join'],
      ['secret', 'join'],
      ['bad', 'join'],
    ])
    expect(a.conn.ofType('subscribed').map((f) => [f.room, f.id])).toEqual([['open', 'o']])
    expect(a.conn.ofType('error')).toEqual([
      { type: 'error', code: 'members_only', message: 'join the club', room: 'secret', id: 's' },
      { type: 'error', code: 'forbidden', message: 'refused by the application', room: 'bad', id: 'b' },
    ])
    expect(a.conn.closedWith).toBeNull()
  })

  it("gives each room the hook's identity: from on messages, read-only where it says so", async () => {
    const { access } = accessOf(({ room }) => (room === 'ro' ? { sub: 'reader', canPublish: false } : { sub: `ann@${room}` }))
    const { open } = setup(access)
    const a = open()
    const b = open(undefined, undefined)
    b.send({ type: 'subscribe', room: 'r' })
    a.send({ type: 'subscribe', room: 'ro' })
    await flush()
    a.send({ type: 'publish', room: 'r', data: 'hi', id: 'p1' })
    a.send({ type: 'publish', room: 'ro', data: 'no', id: 'p2' })
    await flush()
    await flush()
    expect(b.conn.ofType('message')).toEqual([expect.objectContaining({ room: 'r', data: 'hi', from: 'ann@r' })])
    expect(a.conn.ofType('error')).toEqual([expect.objectContaining({ code: 'forbidden', room: 'ro', id: 'p2' })])
  })

  it('asks once per room for publishes: a subscribed room not at all, another once for all its publishes, a denial kept too', async () => {
    const { access, asked } = accessOf(({ room }) => (room === 'nope' ? { deny: 'forbidden' } : undefined))
    const { open } = setup(access)
    const a = open()
    a.send({ type: 'subscribe', room: 'sub' })
    await flush()
    for (let i = 0; i < 3; i++) {
      a.send({ type: 'publish', room: 'sub', data: i })
      a.send({ type: 'publish', room: 'other', data: i, id: `o${i}` })
      a.send({ type: 'publish', room: 'nope', data: i, id: `n${i}` })
    }
    await flush()
    await flush()
    expect(asked).toEqual([
      ['sub', 'join'],
      ['other', 'publish'],
      ['nope', 'publish'],
    ])
    // Publishes that waited for the one answer keep their order.
    expect(a.conn.ofType('ack').map((f) => [f.id, f.seq])).toEqual([
      ['o0', 1],
      ['o1', 2],
      ['o2', 3],
    ])
    expect(a.conn.ofType('error').map((f) => [f.code, f.id])).toEqual([
      ['forbidden', 'n0'],
      ['forbidden', 'n1'],
      ['forbidden', 'n2'],
    ])
  })

  it('keeps at most twice MAX_SUBSCRIPTIONS verdicts of rooms it is not subscribed to: the oldest goes first', async () => {
    const { access, asked } = accessOf(() => undefined)
    // MAX_SUBSCRIPTIONS is 3 here: six verdicts kept.
    const { open } = setup(access)
    const a = open()
    const rooms = ['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6']
    for (const room of rooms) {
      a.send({ type: 'publish', room, data: 1 })
      await flush()
    }
    a.send({ type: 'publish', room: 'p6', data: 2 })
    a.send({ type: 'publish', room: 'p1', data: 2 })
    a.send({ type: 'publish', room: 'p0', data: 2 })
    await flush()
    expect(asked.map(([room]) => room)).toEqual([...rooms, 'p0'])
  })

  it('answers hook_failed and hook_timeout with the room, and asks again next time', async () => {
    let calls = 0
    const { access } = accessOf(
      () => {
        calls++
        if (calls === 1) throw new Error('boom')
        if (calls === 2) return new Promise(() => {})
        return undefined
      },
      {},
      30,
    )
    const { open } = setup(access)
    const a = open()
    a.send({ type: 'subscribe', room: 'r', id: 'one' })
    await flush()
    a.send({ type: 'subscribe', room: 'r', id: 'two' })
    await new Promise((r) => setTimeout(r, 60))
    a.send({ type: 'subscribe', room: 'r', id: 'three' })
    await flush()
    expect(a.conn.ofType('error').map((f) => [f.code, f.room, f.id])).toEqual([
      ['hook_failed', 'r', 'one'],
      ['hook_timeout', 'r', 'two'],
    ])
    expect(a.conn.ofType('subscribed').map((f) => f.id)).toEqual(['three'])
  })

  it('holds a subscribe’s place while the hook is out: a second one is already_subscribed, MAX_SUBSCRIPTIONS counts it; an unsubscribe drops the answer', async () => {
    let release: () => void = () => {}
    const gate = new Promise<void>((r) => {
      release = r
    })
    const { access } = accessOf(() => gate.then(() => undefined))
    const { open, hub } = setup(access)
    const a = open()
    for (const room of ['a', 'b', 'c']) a.send({ type: 'subscribe', room })
    a.send({ type: 'subscribe', room: 'a', id: 'again' })
    a.send({ type: 'subscribe', room: 'd', id: 'fourth' })
    a.send({ type: 'unsubscribe', room: 'c' })
    release()
    await flush()
    await flush()
    expect(a.conn.ofType('error').map((f) => [f.code, f.id])).toEqual([
      ['already_subscribed', 'again'],
      ['too_many_subscriptions', 'fourth'],
    ])
    expect(a.conn.ofType('subscribed').map((f) => f.room)).toEqual(['a', 'b'])
    expect(hub.room('c').size).toBe(0)
  })

  it('welcomes with the identity the upgrade’s verdict gave, which every room starts from', async () => {
    const { access } = accessOf(() => undefined, { sub: 'ann', info: { team: 'blue' } })
    const { open } = setup(access)
    const a = open()
    const b = open(undefined, undefined)
    expect(a.conn.frames()[0]).toMatchObject({ type: 'welcome', sub: 'ann' })
    b.send({ type: 'subscribe', room: 'r' })
    await flush()
    a.send({ type: 'publish', room: 'r', data: 1 })
    await flush()
    await flush()
    expect(b.conn.ofType('message')).toEqual([expect.objectContaining({ from: 'ann' })])
  })
})

/** A gateway that holds v2 connections and keeps what the app handed each one. */
function gateway() {
  const connected: { grant?: Grant; access?: RoomAccess | undefined }[] = []
  const g: RoomGateway = {
    isFull: () => false,
    upgrade: () => new Response(null, { status: 418 }),
    stats: async (room) => ({ room, connections: 0, seq: 0 }),
    publish: async () => ({ seq: 1, duplicate: false, mismatch: false }),
    connect: (_c, grant, _client, extras) => {
      connected.push({ grant, access: extras?.access })
      return new Response(null, { status: 418 })
    },
  }
  return { g, connected }
}

const upgradeHeaders = {
  upgrade: 'websocket',
  connection: 'Upgrade',
  'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
  'sec-websocket-version': '13',
  'sec-websocket-protocol': 'roomcast.v2',
}

describe('the door of protocol v2 with an authorize hook', () => {
  it('asks the hook at the upgrade with action connect, no room and the protocol; a denial refuses with its status and code', async () => {
    const seen: (AuthorizeRequest | ConnectRequest)[] = []
    const { g, connected } = gateway()
    const app = createApp({
      config: config(),
      gateway: g,
      hooks: {
        authorize: (req) => {
          seen.push(req)
          const user = req.request.headers.get('x-user')
          return user === null ? { deny: 'no_session', status: 401 } : { sub: user }
        },
      },
    })
    const refused = await app.request('/?check&protocol=roomcast.v2')
    expect(refused.status).toBe(401)
    expect(refused.headers.get('x-roomcast-error')).toBe('no_session')
    expect(seen[0]).toMatchObject({ action: 'connect', protocol: 'roomcast.v2' })
    expect(seen[0]?.room).toBeUndefined()
    expect((await app.request('/?check&protocol=roomcast.v2', { headers: { 'x-user': 'ann' } })).status).toBe(204)
    // An upgrade hands the session the verdict and a way to ask per room, with the upgrade's request.
    expect((await app.request('/', { headers: { ...upgradeHeaders, 'x-user': 'ann', cookie: 'sid=1' } })).status).toBe(418)
    const access = connected[0]?.access as RoomAccess
    expect(access.base).toEqual({ sub: 'ann' })
    const d: Decision = await access.ask('lobby', 'join')
    expect(d).toEqual({ identity: { sub: 'ann' } })
    expect(seen.at(-1)).toMatchObject({ room: 'lobby', action: 'join', protocol: 'roomcast.v2' })
    expect(seen.at(-1)?.request.headers.get('cookie')).toBe('sid=1')
  })

  it("with auth: 'replace', skips the token check and lets the hook alone decide", async () => {
    const { g } = gateway()
    const cfg = config({ access: { allowedOrigins: [], authSecret: 'x'.repeat(40) } })
    expect((await createApp({ config: cfg, gateway: g }).request('/?check&protocol=roomcast.v2')).status).toBe(401)
    const app = createApp({ config: cfg, gateway: g, auth: 'replace', hooks: { authorize: () => ({ sub: 'ann' }) } })
    expect((await app.request('/?check&protocol=roomcast.v2')).status).toBe(204)
  })
})

describe('a v2 publish and the message hook', () => {
  it('applies the verdicts in the order the connection sent them, and gives the hook its connection id and info', async () => {
    const clock = new FakeClock()
    const seen: { data: unknown; connectionId?: string; info?: unknown }[] = []
    // The first publish's answer comes last.
    const hooks: Hooks = {
      message: (m) => {
        seen.push({ data: m.data, connectionId: m.connectionId, info: m.info })
        return new Promise((r) => setTimeout(() => r(undefined), m.data === 0 ? 30 : 1))
      },
    }
    const hub = new Hub({ config: config(), clock, hooks })
    const { access } = accessOf(() => undefined, { sub: 'ann', info: { team: 'blue' } })
    const conn = new FakeConnection()
    const session = new Session(hub, conn, undefined, clock, undefined, undefined, { access })
    session.open()
    const reader = new FakeConnection()
    hub.room('r').join(reader, { mode: 'json' })
    for (const n of [0, 1, 2]) session.receive(JSON.stringify({ type: 'publish', room: 'r', data: n, id: `p${n}` }))
    await new Promise((r) => setTimeout(r, 60))
    expect(conn.ofType('ack').map((f) => [f.id, f.seq])).toEqual([
      ['p0', 1],
      ['p1', 2],
      ['p2', 3],
    ])
    expect(reader.ofType('message').map((f) => f.data)).toEqual([0, 1, 2])
    expect(seen[0]).toEqual({ data: 0, connectionId: session.id, info: { team: 'blue' } })
  })
})
