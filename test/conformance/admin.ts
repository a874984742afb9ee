/**
 * The admin API (docs/admin.md): off (404) without ADMIN_TOKEN, 401 without
 * or with a wrong token, and with it: the room listing and its cursor, a
 * room's members, an operator's disconnect (4002 kicked by default), erasing
 * history (resumes then report complete:false) and the dashboard's stats. The
 * group starts its own server with ADMIN_TOKEN and AUTH_SECRET, so members
 * carry a `sub`.
 */
import { SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dashboardJs } from '../../src/client/bundle.gen.ts'
import type { TestClient } from '../support/client.ts'
import { connect, connectJson, sleep } from '../support/client.ts'
import type { ServerHandle } from '../support/server.ts'
import type { SuiteContext } from './suite.ts'

const ADMIN_TOKEN = 'conformance-admin-token-0123456789'
const SECRET = 'conformance-admin-secret-0123456789-abcdef'

/** A token for every room, publishing allowed, as `sub`. */
function token(sub: string): Promise<string> {
  return new SignJWT({ rooms: ['*'], pub: true })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setExpirationTime(Math.floor(Date.now() / 1000) + 3600)
    .sign(new TextEncoder().encode(SECRET))
}

/** Room names of this run sort together, after a fixed prefix, so listing pages can be walked and checked. */
function roomName(tag: string): string {
  return `adm-${tag}-${Math.random().toString(36).slice(2, 8)}`
}

export function adminScenarios(ctx: SuiteContext): void {
  it('answers every /admin route with 404 not_found while ADMIN_TOKEN is unset', async () => {
    const requests: [string, string][] = [
      ['GET', '/admin'],
      ['GET', '/admin/stats'],
      ['GET', '/admin/rooms'],
      ['GET', '/admin/rooms/lobby'],
      ['POST', '/admin/rooms/lobby/disconnect'],
      ['DELETE', '/admin/rooms/lobby/history'],
      ['GET', '/client/dashboard.js'],
    ]
    for (const [method, path] of requests) {
      const res = await fetch(`${ctx.server.http}${path}`, { method, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
      expect(res.status, `${method} ${path}`).toBe(404)
      expect(res.headers.get('x-roomcast-error'), `${method} ${path}`).toBe('not_found')
    }
  })

  describe('with ADMIN_TOKEN', () => {
    let server: ServerHandle
    const open: TestClient[] = []
    const admin = (path: string, init: RequestInit = {}, bearer: string | null = ADMIN_TOKEN) =>
      fetch(`${server.http}${path}`, { ...init, headers: { ...(bearer === null ? {} : { authorization: `Bearer ${bearer}` }), ...init.headers } })
    const json = async (path: string, init?: RequestInit) => {
      const res = await admin(path, init)
      expect(res.status, `${init?.method ?? 'GET'} ${path}: ${res.headers.get('x-roomcast-error')}`).toBe(200)
      return (await res.json()) as any
    }
    const member = async (room: string, sub: string, mode: 'json' | 'raw' = 'json') => {
      const t = await token(sub)
      if (mode === 'raw') {
        const client = await connect(`${server.ws}/rooms/${room}?token=${t}`)
        open.push(client)
        return { client, welcome: undefined }
      }
      const m = await connectJson(`${server.ws}/rooms/${room}`, { protocols: ['roomcast.v1', t] })
      open.push(m.client)
      // Kept alive as the client library does: where the server cannot ping (Cloudflare), a json member silent
      // for IDLE_TIMEOUT_MS is reaped, and these wait for reports longer than that.
      const alive = setInterval(() => {
        if (m.client.ws.readyState === m.client.ws.OPEN) m.client.send({ type: 'ping' })
        else clearInterval(alive)
      }, Number(ctx.env.IDLE_TIMEOUT_MS) / 3)
      alive.unref()
      return m
    }
    /** Publish `n` messages over HTTP (with a token), so a room has history and traffic. */
    const publish = async (room: string, n: number) => {
      const auth = `Bearer ${await token('publisher')}`
      for (let i = 0; i < n; i++) {
        const res = await fetch(`${server.http}/rooms/${room}/messages`, {
          method: 'POST',
          body: `m${i}`,
          headers: { authorization: auth, 'content-type': 'text/plain' },
        })
        expect(res.status).toBe(202)
      }
    }
    /** Poll until `check` passes or `ms` is over; the listing follows member counts within a sampling or reporting interval. */
    const eventually = async <T>(read: () => Promise<T>, check: (v: T) => boolean, ms = 10_000): Promise<T> => {
      const deadline = Date.now() + ms
      let v = await read()
      while (!check(v) && Date.now() < deadline) {
        await sleep(100)
        v = await read()
      }
      return v
    }
    /** Every listed room, walking the cursor with pages of `limit`. */
    const walk = async (limit: number): Promise<{ rooms: any[]; pages: number }> => {
      const rooms: any[] = []
      let cursor: string | undefined
      let pages = 0
      do {
        const page = await json(`/admin/rooms?limit=${limit}${cursor === undefined ? '' : `&cursor=${cursor}`}`)
        expect(page.rooms.length).toBeLessThanOrEqual(limit)
        rooms.push(...page.rooms)
        cursor = page.cursor
        pages++
      } while (cursor !== undefined && pages < 200)
      return { rooms, pages }
    }

    beforeAll(async () => {
      server = await ctx.target.start({ ...ctx.env, ADMIN_TOKEN, AUTH_SECRET: SECRET })
    }, 120_000)
    afterAll(async () => {
      await Promise.all(open.map((c) => c.close().catch(() => {})))
      await server?.stop()
    }, 30_000)

    it('refuses the API with 401 unauthorized without the token, with a wrong one, and with another scheme', async () => {
      for (const bearer of [null, 'wrong-token-0123456789', `${ADMIN_TOKEN}x`, ADMIN_TOKEN.slice(0, -1)]) {
        for (const [method, path] of [
          ['GET', '/admin/stats'],
          ['GET', '/admin/rooms'],
          ['GET', '/admin/rooms/lobby'],
          ['POST', '/admin/rooms/lobby/disconnect'],
          ['DELETE', '/admin/rooms/lobby/history'],
        ] as const) {
          const res = await admin(path, { method }, bearer)
          expect(res.status, `${method} ${path} with ${bearer}`).toBe(401)
          expect(res.headers.get('x-roomcast-error')).toBe('unauthorized')
          expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/)
          expect(await res.json()).toMatchObject({ error: 'unauthorized' })
        }
      }
      const basic = await admin('/admin/rooms', { headers: { authorization: `Basic ${btoa(`admin:${ADMIN_TOKEN}`)}` } }, null)
      expect(basic.status).toBe(401)
    })

    it('serves the dashboard page without the token, under the page CSP, with its script from /client/dashboard.js', async () => {
      const page = await fetch(`${server.http}/admin`)
      expect(page.status).toBe(200)
      expect(page.headers.get('content-type')).toMatch(/text\/html/)
      expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'self';.*connect-src 'self'/)
      const html = await page.text()
      expect(html).toContain('<script src="client/dashboard.js"></script>')
      expect(html).toContain('ADMIN_TOKEN')
      const script = await fetch(`${server.http}/client/dashboard.js`)
      expect(script.headers.get('content-type')).toMatch(/^text\/javascript/)
      expect(await script.text()).toBe(dashboardJs)
    })

    it('lists rooms with their connections, seq, history bytes and message rate; a cursor walks every room once, in name order', async () => {
      const names = [roomName('list'), roomName('list'), roomName('list')].sort()
      const [a, b, c] = names as [string, string, string]
      await member(a, 'alice')
      await member(a, 'bob', 'raw')
      await member(b, 'carol')
      await member(c, 'dave')
      await publish(a, 5)
      await publish(b, 2)
      const listed = await eventually(
        () => walk(1000),
        ({ rooms }) => [a, a, b, c].every((n, _i, all) => rooms.some((r) => r.room === n && r.connections === all.filter((x) => x === n).length)),
      )
      const row = (n: string) => listed.rooms.find((r) => r.room === n)
      expect(row(a)).toMatchObject({ room: a, connections: 2, seq: 5, historyBytes: 10 })
      expect(row(b)).toMatchObject({ room: b, connections: 1, seq: 2, historyBytes: 4 })
      expect(row(c)).toMatchObject({ room: c, connections: 1, seq: 0, historyBytes: 0 })
      for (const n of names) expect(typeof row(n).messagesPerSecond).toBe('number')
      // The rate follows the messages, within the sampling (or reporting) interval.
      const rated = await eventually(
        () => json('/admin/rooms?limit=1000'),
        (p) => (p.rooms.find((r: any) => r.room === a)?.messagesPerSecond ?? 0) > 0,
      )
      expect(rated.rooms.find((r: any) => r.room === a).messagesPerSecond).toBeGreaterThan(0)

      // One room per page: the same rooms, in name order, each once.
      const paged = await walk(1)
      const order = paged.rooms.map((r) => r.room)
      expect(new Set(order).size).toBe(order.length)
      expect([...order].sort()).toEqual(order)
      for (const n of names) expect(order).toContain(n)
      expect(paged.pages).toBeGreaterThanOrEqual(names.length)
    })

    it('refuses a bad limit or cursor with 400 bad_request, and takes a limit past 1000 as 1000', async () => {
      for (const q of ['limit=0', 'limit=-1', 'limit=abc', 'limit=1.5', 'cursor=%21%21', 'cursor=bm90LWEtY3Vyc29y']) {
        const res = await admin(`/admin/rooms?${q}`)
        expect(res.status, q).toBe(400)
        expect(res.headers.get('x-roomcast-error'), q).toBe('bad_request')
      }
      expect((await admin('/admin/rooms?limit=100000')).status).toBe(200)
      expect((await admin('/admin/rooms/not%20a%20room')).headers.get('x-roomcast-error')).toBe('bad_room')
    })

    it("shows a room's members: connection id, sub, mode and since, and bufferedBytes where the runtime can tell", async () => {
      const room = roomName('detail')
      const before = Date.now()
      const alice = await member(room, 'alice')
      await member(room, 'bob', 'raw')
      const detail = await eventually(
        () => json(`/admin/rooms/${room}`),
        (d) => d.members.length === 2 && d.connections === 2,
      )
      expect(detail).toMatchObject({ room, connections: 2, seq: 0 })
      const bySub = new Map(detail.members.map((m: any) => [m.sub, m]))
      expect(bySub.get('alice')).toMatchObject({ connectionId: alice.welcome.connectionId, sub: 'alice', mode: 'json' })
      expect(bySub.get('bob')).toMatchObject({ sub: 'bob', mode: 'raw' })
      for (const m of detail.members) {
        expect(m.since).toBeGreaterThanOrEqual(before - 5000)
        expect(m.since).toBeLessThanOrEqual(Date.now() + 5000)
        if (ctx.target.caps.slowConsumer) expect(m.bufferedBytes).toBeGreaterThanOrEqual(0)
        else expect(m.bufferedBytes).toBeUndefined()
      }
      const one = await json(`/admin/rooms/${room}?limit=1`)
      expect(one.members).toHaveLength(1)
      expect(one.connections).toBe(2)
      // A room no one has opened: nothing, and nothing created.
      expect(await json(`/admin/rooms/${roomName('nobody')}`)).toMatchObject({ connections: 0, seq: 0, members: [] })
    })

    it('disconnects one connection by id with 4002 kicked, and leaves the others', async () => {
      const room = roomName('kick')
      const alice = await member(room, 'alice')
      const bob = await member(room, 'bob')
      const res = await json(`/admin/rooms/${room}/disconnect`, { method: 'POST', body: JSON.stringify({ connectionId: alice.welcome.connectionId }) })
      expect(res).toEqual({ disconnected: 1 })
      bob.client.send({ type: 'publish', data: 'still here', id: 's' })
      expect(await bob.client.frame('ack')).toMatchObject({ id: 's', seq: 1 })
      expect(await alice.client.closed).toEqual({ code: 4002, reason: 'kicked: disconnected by an operator' })
    }, 60_000)

    it('disconnects every connection of a sub, or everyone with an empty body, with the code asked for', async () => {
      const room = roomName('kick')
      const a1 = await member(room, 'alice')
      const a2 = await member(room, 'alice', 'raw')
      const bob = await member(room, 'bob')
      const carol = await member(room, 'carol')
      expect(await json(`/admin/rooms/${room}/disconnect`, { method: 'POST', body: '{"sub":"alice"}' })).toEqual({ disconnected: 2 })
      // The count says who was closed; the closes themselves are awaited together at the end, since workerd's dev
      // proxy ends a closed socket's TCP connection only seconds after the close frames.
      // No one matches both: no one is closed.
      expect(
        await json(`/admin/rooms/${room}/disconnect`, { method: 'POST', body: JSON.stringify({ sub: 'bob', connectionId: carol.welcome.connectionId }) }),
      ).toEqual({
        disconnected: 0,
      })
      expect(await json(`/admin/rooms/${room}/disconnect`, { method: 'POST', body: '{"code":"shutting_down"}' })).toEqual({ disconnected: 2 })
      expect(await json(`/admin/rooms/${room}/disconnect`, { method: 'POST' })).toEqual({ disconnected: 0 })
      const [c1, c2, cb, cc] = await Promise.all([a1.client.closed, a2.client.closed, bob.client.closed, carol.client.closed])
      expect([c1.code, c2.code]).toEqual([4002, 4002])
      expect(cb).toEqual({ code: 1001, reason: 'shutting_down: server shutting down' })
      expect(cc.code).toBe(1001)
    }, 60_000)

    it('refuses a disconnect body it cannot follow with 400, closing no one', async () => {
      const room = roomName('kick')
      const alice = await member(room, 'alice')
      for (const body of ['{"connection_id":"x"}', '{"code":"bad_json"}', '{"code":"nonsense"}', '{"sub":1}', '[1]', 'not json', '{"sub":""}']) {
        const res = await admin(`/admin/rooms/${room}/disconnect`, { method: 'POST', body })
        expect(res.status, body).toBe(400)
        expect(res.headers.get('x-roomcast-error'), body).toBe('bad_request')
      }
      expect((await admin('/admin/rooms/no%20such/disconnect', { method: 'POST' })).headers.get('x-roomcast-error')).toBe('bad_room')
      alice.client.send({ type: 'ping' })
      expect(await alice.client.frame('pong', 5000)).toEqual({ type: 'pong' })
    })

    it('erases history: seq goes on, and a resume from before reports complete:false with nothing replayed', async () => {
      const room = roomName('history')
      const first = await member(room, 'alice')
      for (let i = 0; i < 3; i++) first.client.send({ type: 'publish', data: `m${i}`, id: `i${i}` })
      expect((await first.client.frames('ack', 3)).map((f) => f.seq)).toEqual([1, 2, 3])
      const epoch = first.welcome.epoch
      expect(await json(`/admin/rooms/${room}/history`, { method: 'DELETE' })).toMatchObject({ room, seq: 3 })
      const t = await token('bob')
      const again = await connectJson(`${server.ws}/rooms/${room}?since=1&epoch=${epoch}`, { protocols: ['roomcast.v1', t] })
      open.push(again.client)
      expect(again.welcome).toMatchObject({ seq: 3, epoch, resumed: { since: 1, complete: false } })
      // Up to date: nothing was missed.
      const current = await connectJson(`${server.ws}/rooms/${room}?since=3&epoch=${epoch}`, { protocols: ['roomcast.v1', t] })
      open.push(current.client)
      expect(current.welcome.resumed).toEqual({ since: 3, complete: true })
      first.client.send({ type: 'publish', data: 'after', id: 'a' })
      expect(await first.client.frame('ack')).toMatchObject({ seq: 4 })
      expect(await again.client.frame('message')).toMatchObject({ seq: 4, data: 'after' })
      expect((await again.client.drain()).map((f) => JSON.parse(String(f.data)).type).filter((t) => t === 'message')).toEqual([])
      const listed = await eventually(
        () => json('/admin/rooms?limit=1000'),
        (p) => p.rooms.some((r: any) => r.room === room && r.seq === 4),
      )
      const row = listed.rooms.find((r: any) => r.room === room)
      expect(row).toMatchObject({ seq: 4, historyBytes: 5 })
    })

    it('sums up the instance for the dashboard: connections, rooms, rates, series, busiest rooms and the backend', async () => {
      const room = roomName('stats')
      await member(room, 'alice')
      await member(room, 'bob')
      await publish(room, 20)
      const stats = await eventually(
        () => json('/admin/stats'),
        (s) => s.busiest.some((r: any) => r.room === room && r.connections === 2) && s.messages > 0,
      )
      expect(stats.connections).toBeGreaterThanOrEqual(2)
      expect(stats.rooms).toBeGreaterThanOrEqual(1)
      expect(stats.backend).toMatchObject({ ready: true })
      expect(typeof stats.backend.name).toBe('string')
      expect(stats.busiest.find((r: any) => r.room === room)).toMatchObject({ connections: 2, seq: 20 })
      expect(stats.messages).toBeGreaterThan(0)
      expect(stats.deliveries).toBeGreaterThanOrEqual(stats.messages)
      expect(typeof stats.refusals).toBe('object')
      expect(typeof stats.closes).toBe('object')
      if (ctx.target.caps.adminSeries !== false) {
        expect(stats.series.intervalMs).toBeGreaterThan(0)
        expect(stats.series.points.length).toBeGreaterThan(0)
        expect(stats.series.points.some((p: any) => p.messagesPerSecond > 0)).toBe(true)
        const last = stats.series.points[stats.series.points.length - 1]
        expect(last).toMatchObject({ connections: expect.any(Number), messagesPerSecond: expect.any(Number), deliveriesPerSecond: expect.any(Number) })
      }
    })
  })
}
