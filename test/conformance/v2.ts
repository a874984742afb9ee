/**
 * Protocol v2: many rooms over one connection (`roomcast.v2` on `/`), and
 * presence that names who is here. Where a runtime cannot hold rooms of
 * several places on one socket (capability `multiplexing: false`), it refuses
 * v2 on `/` with a 400, and the scenarios that need no second room run over a
 * v2 socket on each room's own URL (`/rooms/<room>`), which every target serves.
 */
import { SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { TestClient } from '../support/client.ts'
import { connect, connectJson, refused, sleep, uniqueRoom } from '../support/client.ts'
import type { ServerHandle } from '../support/server.ts'
import { startProxy } from '../support/tcp-proxy.ts'
import type { SuiteContext } from './suite.ts'

const SECRET = 'conformance-v2-secret-0123456789-abcdefghij'

function sign(claims: { sub?: string; rooms: string[]; pub?: boolean }): Promise<string> {
  const jwt = new SignJWT({ rooms: claims.rooms, pub: claims.pub ?? true })
    .setProtectedHeader({ alg: 'HS256' })
    .setExpirationTime(Math.floor(Date.now() / 1000) + 3600)
  if (claims.sub !== undefined) jwt.setSubject(claims.sub)
  return jwt.sign(new TextEncoder().encode(SECRET))
}

/** Open a v2 connection and read its welcome. */
async function openV2(ws: string, token?: string): Promise<{ client: TestClient; welcome: any }> {
  // The server's root is `${ws}/`; a room's URL is used as it is.
  const url = /\/rooms\/[^/]+$/.test(ws) ? ws : `${ws}/`
  const client = await connect(`${url}${token === undefined ? '' : `?token=${token}`}`, { protocols: 'roomcast.v2' })
  const welcome = JSON.parse(await client.text())
  return { client, welcome }
}

/** A v2 socket for `room`: on `/` where one socket can span rooms, else on the room's own URL. */
async function openV2For(ws: string, room: string, multiplexing: boolean, token?: string): Promise<{ client: TestClient; welcome: any }> {
  return openV2(multiplexing ? ws : `${ws}/rooms/${room}`, token)
}

/** Subscribe and wait for `subscribed` (or the error) of that room. */
async function subscribe(client: TestClient, room: string, extra: object = {}): Promise<any> {
  const id = `s-${room}`
  client.send({ type: 'subscribe', room, id, ...extra })
  const frames = await client.until((f: any) => f.room === room && (f.type === 'subscribed' || f.type === 'error') && f.id === id)
  return frames.at(-1)
}

export function v2Scenarios(ctx: SuiteContext): void {
  const multiplexing = ctx.target.caps.multiplexing ?? true

  /** A v2 socket of `room` on this target (see openV2For). */
  const openFor = (ws: string, room: string, token?: string) => openV2For(ws, room, multiplexing, token)

  describe('protocol v2', () => {
    it.runIf(!multiplexing)('refuses roomcast.v2 on / with 400, where one socket cannot span rooms', async () => {
      const r = await refused(`${ctx.server.ws}/`, { protocols: 'roomcast.v2' })
      expect(r.status).toBe(400)
      expect(r.error).toBe('bad_request')
      // The door check the client library asks first says the same.
      const check = await fetch(`${ctx.server.http}/?check&protocol=roomcast.v2`)
      expect([check.status, check.headers.get('x-roomcast-error')]).toEqual([400, 'bad_request'])
    })

    it('serves v2 on a room’s own URL: that room subscribes and publishes, another room gets wrong_room, the socket stays', async () => {
      const room = uniqueRoom('v2o')
      const check = await fetch(`${ctx.server.http}/rooms/${room}?check&protocol=roomcast.v2`)
      expect(check.status).toBe(204)
      const { client, welcome } = await openV2(`${ctx.server.ws}/rooms/${room}`)
      expect(client.ws.protocol).toBe('roomcast.v2')
      expect(welcome).toMatchObject({ type: 'welcome', protocol: 'roomcast.v2' })
      expect(await subscribe(client, room)).toMatchObject({ type: 'subscribed', room, seq: 0 })
      const other = uniqueRoom('v2o')
      const refusedSub = await subscribe(client, other)
      expect(refusedSub).toMatchObject({ type: 'error', code: 'wrong_room', room: other })
      expect(refusedSub.message).toContain(room)
      client.send({ type: 'publish', room: other, data: 'elsewhere', id: 'p0' })
      expect(await client.frame('error')).toMatchObject({ code: 'wrong_room', room: other, id: 'p0' })
      // A v1 member of the room hears the v2 socket's publish; the other room got nothing.
      const { client: v1 } = await connectJson(`${ctx.server.ws}/rooms/${room}`)
      client.send({ type: 'publish', room, data: 'here', id: 'p1' })
      expect(await client.frame('ack')).toEqual({ type: 'ack', id: 'p1', room, seq: 1 })
      expect(await v1.frame('message')).toMatchObject({ room, seq: 1, data: 'here' })
      expect(await (await fetch(`${ctx.server.http}/rooms/${other}`)).json()).toMatchObject({ seq: 0 })
      client.send({ type: 'unsubscribe', room, id: 'u' })
      expect(await client.frame('unsubscribed')).toEqual({ type: 'unsubscribed', room, id: 'u' })
      client.send({ type: 'ping' })
      expect(await client.frame('pong')).toEqual({ type: 'pong' })
      await Promise.all([client.close(), v1.close()])
    })

    describe.runIf(multiplexing)('many rooms over one connection', () => {
      it('welcomes with the protocol, by subprotocol or by ?protocol=', async () => {
        const { client, welcome } = await openV2(ctx.server.ws)
        expect(client.ws.protocol).toBe('roomcast.v2')
        expect(welcome).toMatchObject({ type: 'welcome', protocol: 'roomcast.v2' })
        expect(typeof welcome.connectionId).toBe('string')
        await client.close()
        const byQuery = await connect(`${ctx.server.ws}/?protocol=roomcast.v2`)
        expect(JSON.parse(await byQuery.text())).toMatchObject({ type: 'welcome', protocol: 'roomcast.v2' })
        await byQuery.close()
      })

      it('carries 30 rooms on one connection with interleaved publishes, each room gap-free and in order', async () => {
        const rooms = Array.from({ length: 30 }, () => uniqueRoom('v2m'))
        const { client: reader } = await openV2(ctx.server.ws)
        for (const room of rooms) expect(await subscribe(reader, room)).toMatchObject({ type: 'subscribed', room, seq: 0 })
        // Three writers, each within RATE_BURST, interleaving rooms.
        const writers = await Promise.all([0, 1, 2].map(async () => (await openV2(ctx.server.ws)).client))
        const perRoom = 5
        for (let i = 0; i < perRoom; i++) {
          for (const [k, room] of rooms.entries()) writers[k % 3]?.send({ type: 'publish', room, data: { i }, id: `${room}-${i}` })
        }
        const acks = (await Promise.all(writers.map((w) => w.frames('ack', (rooms.length / 3) * perRoom, 20_000)))).flat()
        expect(new Set(acks.map((a) => `${a.room}:${a.seq}`)).size).toBe(rooms.length * perRoom)
        const got = await reader.frames('message', rooms.length * perRoom, 20_000)
        for (const room of rooms) {
          const mine = got.filter((m) => m.room === room)
          expect(mine.map((m) => m.seq)).toEqual([1, 2, 3, 4, 5])
          expect(mine.map((m) => m.data.i)).toEqual([0, 1, 2, 3, 4])
        }
        await Promise.all([reader.close(), ...writers.map((w) => w.close())])
      })

      it('stops a room’s frames at unsubscribed, while the other rooms go on', async () => {
        const [a, b] = [uniqueRoom('v2u'), uniqueRoom('v2u')]
        const { client: reader } = await openV2(ctx.server.ws)
        await subscribe(reader, a)
        await subscribe(reader, b)
        const { client: writer } = await openV2(ctx.server.ws)
        reader.send({ type: 'unsubscribe', room: a, id: 'u' })
        for (let i = 0; i < 20; i++) writer.send({ type: 'publish', room: a, data: i })
        writer.send({ type: 'publish', room: b, data: 'sentinel', id: 'last' })
        await writer.frame('ack')
        const frames = await reader.until((f: any) => f.type === 'message' && f.data === 'sentinel')
        const after = frames.slice(frames.findIndex((f: any) => f.type === 'unsubscribed'))
        expect(after[0]).toEqual({ type: 'unsubscribed', room: a, id: 'u' })
        expect(after.filter((f: any) => f.room === a && f.type === 'message')).toEqual([])
        await Promise.all([reader.close(), writer.close()])
      })

      it('resumes several rooms after a reconnect, each from its own seq and epoch', async () => {
        const rooms = [uniqueRoom('v2r'), uniqueRoom('v2r'), uniqueRoom('v2r')]
        const { client: first } = await openV2(ctx.server.ws)
        const epochs: Record<string, string> = {}
        for (const room of rooms) epochs[room] = (await subscribe(first, room)).epoch
        const { client: writer } = await openV2(ctx.server.ws)
        for (const [k, room] of rooms.entries()) {
          for (let i = 0; i <= k; i++) writer.send({ type: 'publish', room, data: `before${i}`, id: `${room}b${i}` })
        }
        await writer.frames('ack', 6)
        const seen = await first.frames('message', 6)
        const last = Object.fromEntries(rooms.map((room) => [room, Math.max(...seen.filter((m) => m.room === room).map((m) => m.seq))]))
        await first.close()
        for (const room of rooms) writer.send({ type: 'publish', room, data: 'missed', id: `${room}m` })
        await writer.frames('ack', 3)
        const { client: again } = await openV2(ctx.server.ws)
        for (const room of rooms) again.send({ type: 'subscribe', room, since: last[room], epoch: epochs[room] })
        let subscribed = 0
        let messages = 0
        const frames = await again.until((f: any) => {
          if (f.type === 'subscribed') subscribed++
          if (f.type === 'message') messages++
          return subscribed === 3 && messages === 3
        })
        for (const room of rooms) {
          const s = frames.find((f: any) => f.type === 'subscribed' && f.room === room)
          expect(s).toMatchObject({ room, epoch: epochs[room], resumed: { since: last[room], complete: true } })
          // The replay of a room follows its subscribed.
          expect(frames.indexOf(s)).toBeLessThan(frames.findIndex((f: any) => f.type === 'message' && f.room === room))
        }
        const replayed = frames.filter((f: any) => f.type === 'message')
        expect(replayed.map((m) => [m.room, m.seq, m.data]).sort()).toEqual(rooms.map((room, k) => [room, k + 2, 'missed']).sort())
        await Promise.all([again.close(), writer.close()])
      })
    })

    it('puts a v1 member and a v2 subscription in one room: one seq, both hear each other, neither hears itself', async () => {
      const room = uniqueRoom('v2x')
      const { client: v1 } = await connectJson(`${ctx.server.ws}/rooms/${room}`)
      const { client: v2 } = await openFor(ctx.server.ws, room)
      await subscribe(v2, room)
      v1.send({ type: 'publish', data: 'from v1', id: 'a' })
      expect(await v1.frame('ack')).toEqual({ type: 'ack', id: 'a', seq: 1 })
      expect(await v2.frame('message')).toMatchObject({ room, seq: 1, data: 'from v1' })
      v2.send({ type: 'publish', room, data: 'from v2', id: 'b' })
      expect(await v2.frame('ack')).toEqual({ type: 'ack', id: 'b', room, seq: 2 })
      expect(await v1.frame('message')).toMatchObject({ room, seq: 2, data: 'from v2' })
      v1.send({ type: 'publish', data: 'sentinel' })
      expect(await v2.frame('message')).toMatchObject({ seq: 3, data: 'sentinel' })
      expect((await v1.drain()).map((r) => JSON.parse(r.data as string).type).filter((t) => t === 'message')).toEqual([])
      await Promise.all([v1.close(), v2.close()])
    })

    it('deduplicates a publish id per publisher: a repeat on a reconnect with the same ?client= gets the first seq', async () => {
      const room = uniqueRoom('v2d')
      const v2url = multiplexing ? `${ctx.server.ws}/` : `${ctx.server.ws}/rooms/${room}`
      const { client: v1 } = await connectJson(`${ctx.server.ws}/rooms/${room}`)
      const first = await connect(`${v2url}?client=v2-key`, { protocols: 'roomcast.v2' })
      await first.text()
      first.send({ type: 'publish', room, data: 'once', id: 'x1' })
      expect(await first.frame('ack')).toEqual({ type: 'ack', id: 'x1', room, seq: 1 })
      first.ws.terminate()
      const again = await connect(`${v2url}?client=v2-key`, { protocols: 'roomcast.v2' })
      await again.text()
      again.send({ type: 'publish', room, data: 'once', id: 'x1' })
      expect(await again.frame('ack')).toEqual({ type: 'ack', id: 'x1', room, seq: 1, duplicate: true })
      // Another connection without the key is another publisher: its x1 is an entry of its own.
      const { client: other } = await openFor(ctx.server.ws, room)
      other.send({ type: 'publish', room, data: 'mine', id: 'x1' })
      expect(await other.frame('ack')).toEqual({ type: 'ack', id: 'x1', room, seq: 2 })
      expect((await v1.frames('message', 2)).map((f) => [f.seq, f.data])).toEqual([
        [1, 'once'],
        [2, 'mine'],
      ])
      expect((await refused(`${v2url}?client=bad.key`, { protocols: 'roomcast.v2' })).status).toBe(400)
      await Promise.all([v1.close(), again.close(), other.close()])
    })

    it('answers a bad room, a bad frame and a ping without closing', async () => {
      const { client } = await openFor(ctx.server.ws, 'r')
      client.send({ type: 'subscribe', room: 'no spaces', id: 'x' })
      expect(await client.frame('error')).toMatchObject({ code: 'bad_room', room: 'no spaces', id: 'x' })
      client.send({ type: 'publish', room: 'r' })
      expect(await client.frame('error')).toMatchObject({ code: 'bad_frame', room: 'r' })
      client.send({ type: 'ping' })
      expect(await client.frame('pong')).toEqual({ type: 'pong' })
      await client.close()
    })

    describe('with tokens, limits and presence', () => {
      let server: ServerHandle
      const GRACE = 1500
      beforeAll(async () => {
        server = await ctx.target.start({ ...ctx.env, AUTH_SECRET: SECRET, MAX_SUBSCRIPTIONS: '3', PRESENCE_GRACE_MS: String(GRACE) })
      }, 120_000)
      afterAll(async () => {
        await server?.stop()
      }, 30_000)

      it.runIf(multiplexing)('refuses with forbidden and too_many_subscriptions on a live connection, which stays open', async () => {
        const token = await sign({ sub: 'ann', rooms: ['v2ok-*'], pub: false })
        const { client, welcome } = await openV2(server.ws, token)
        expect(welcome.sub).toBe('ann')
        expect(await subscribe(client, 'secret')).toMatchObject({ type: 'error', code: 'forbidden', room: 'secret' })
        for (const n of [1, 2, 3]) expect(await subscribe(client, `v2ok-${n}`)).toMatchObject({ type: 'subscribed' })
        expect(await subscribe(client, 'v2ok-4')).toMatchObject({ type: 'error', code: 'too_many_subscriptions', room: 'v2ok-4' })
        expect(await subscribe(client, 'v2ok-1')).toMatchObject({ type: 'error', code: 'already_subscribed' })
        client.send({ type: 'publish', room: 'v2ok-1', data: 'x', id: 'p' })
        expect(await client.frame('error')).toMatchObject({ code: 'forbidden', room: 'v2ok-1', id: 'p' })
        client.send({ type: 'unsubscribe', room: 'v2ok-3' })
        await client.frame('unsubscribed')
        expect(await subscribe(client, 'v2ok-4')).toMatchObject({ type: 'subscribed', room: 'v2ok-4' })
        await client.close()
      })

      it('refuses an upgrade without a token with 401', async () => {
        expect((await refused(multiplexing ? `${server.ws}/` : `${server.ws}/rooms/v2ok-1`, { protocols: 'roomcast.v2' })).status).toBe(401)
      })

      it('on a room’s URL, wants a token that grants that room (403 otherwise), and names its sub in the welcome', async () => {
        const token = await sign({ sub: 'ann', rooms: ['v2ok-*'], pub: false })
        const r = await refused(`${server.ws}/rooms/secret?token=${token}`, { protocols: 'roomcast.v2' })
        expect([r.status, r.error]).toEqual([403, 'forbidden'])
        const { client, welcome } = await openV2(`${server.ws}/rooms/v2ok-9`, token)
        expect(welcome.sub).toBe('ann')
        expect(await subscribe(client, 'v2ok-9')).toMatchObject({ type: 'subscribed', room: 'v2ok-9' })
        // Read-only: its publish is refused, the socket stays.
        client.send({ type: 'publish', room: 'v2ok-9', data: 'x', id: 'p' })
        expect(await client.frame('error')).toMatchObject({ code: 'forbidden', room: 'v2ok-9', id: 'p' })
        await client.close()
      })

      /** Read presence frames of `room` until `done` holds for the roster they build up. */
      async function rosterUntil(
        client: TestClient,
        room: string,
        done: (r: Map<string, number>, f: any) => boolean,
        roster = new Map<string, number>(),
        timeoutMs = 10_000,
      ) {
        const frames = await client.until((f: any) => {
          if (f.type !== 'presence' || f.room !== room) return false
          if (f.members !== undefined) {
            roster.clear()
            for (const m of f.members) roster.set(m.sub, m.connections)
          }
          for (const j of f.joins ?? []) roster.set(j.sub, j.connections)
          for (const l of f.leaves ?? []) roster.delete(l.sub)
          return done(roster, f)
        }, timeoutMs)
        return { roster, frames: frames.filter((f: any) => f.type === 'presence') }
      }

      it('sends the roster, then joins; two tabs of one sub are one member; a leave comes after the grace period', async () => {
        const room = uniqueRoom('v2p')
        const tokens = { w: await sign({ sub: 'watcher', rooms: ['*'] }), ann: await sign({ sub: 'ann', rooms: ['*'] }) }
        const { client: watcher } = await openFor(server.ws, room, tokens.w)
        watcher.send({ type: 'subscribe', room, presence: true })
        const first = await rosterUntil(watcher, room, (r) => r.get('watcher') === 1)
        expect(first.frames[0]).toMatchObject({ type: 'presence', room, members: expect.any(Array) })
        const tabs = [(await openFor(server.ws, room, tokens.ann)).client, (await openFor(server.ws, room, tokens.ann)).client]
        for (const t of tabs) await subscribe(t, room)
        const joined = await rosterUntil(watcher, room, (r, f) => r.get('ann') === 2 && f.connections === 3, first.roster)
        expect([...joined.roster.entries()].sort()).toEqual([
          ['ann', 2],
          ['watcher', 1],
        ])
        // Both tabs gone: ann stays listed through the grace period, then leaves.
        const gone = Date.now()
        await Promise.all(tabs.map((t) => t.close()))
        const left = await rosterUntil(watcher, room, (r) => !r.has('ann'), joined.roster)
        expect(Date.now() - gone).toBeGreaterThanOrEqual(GRACE - 100)
        expect(left.frames.at(-1)).toMatchObject({ connections: 1, leaves: [{ sub: 'ann' }] })
        await watcher.close()
      })

      it('does not flap when a sub reconnects within the grace period', async () => {
        const room = uniqueRoom('v2f')
        const tokens = { w: await sign({ sub: 'watcher', rooms: ['*'] }), bob: await sign({ sub: 'bob', rooms: ['*'] }) }
        const { client: watcher } = await openFor(server.ws, room, tokens.w)
        watcher.send({ type: 'subscribe', room, presence: true })
        const tab = (await openFor(server.ws, room, tokens.bob)).client
        await subscribe(tab, room)
        const joined = await rosterUntil(watcher, room, (r) => r.get('bob') === 1 && r.get('watcher') === 1)
        await tab.close()
        await sleep(GRACE / 3)
        const reload = (await openFor(server.ws, room, tokens.bob)).client
        await subscribe(reload, room)
        // Past the grace period of the first tab, with a sentinel sub joining after it: no leave of bob came.
        await sleep(GRACE)
        const cat = (await openFor(server.ws, room, await sign({ sub: 'cat', rooms: ['*'] }))).client
        await subscribe(cat, room)
        const after = await rosterUntil(watcher, room, (r) => r.has('cat'), joined.roster)
        expect(after.frames.flatMap((f: any) => f.leaves ?? [])).toEqual([])
        expect(after.roster.get('bob')).toBe(1)
        await Promise.all([watcher.close(), reload.close(), cat.close()])
      })

      // Node pings and closes whoever does not answer; Cloudflare cannot ping, and reaps from its alarm whoever
      // sent no frame and had no keep-alive answered: either way a client that vanished without a FIN leaves.
      it('closes a json member and a v2 socket that went silent (no FIN): they leave the count and presence', async () => {
        const room = uniqueRoom('v2i')
        const idle = Number(ctx.env.IDLE_TIMEOUT_MS)
        const tokens = { w: await sign({ sub: 'watcher', rooms: ['*'] }), ghost: await sign({ sub: 'ghost', rooms: ['*'] }) }
        const { client: watcher } = await openFor(server.ws, room, tokens.w)
        watcher.send({ type: 'subscribe', room, presence: true })
        // The watcher keeps itself alive the way the client library does.
        const keepAlive = setInterval(() => watcher.send({ type: 'ping' }), idle / 4)
        const proxy = await startProxy(server.port)
        try {
          const ghostUrl = multiplexing ? `${proxy.ws}/` : `${proxy.ws}/rooms/${room}`
          const ghost = await connect(`${ghostUrl}?token=${tokens.ghost}`, { protocols: 'roomcast.v2' })
          await ghost.text()
          await subscribe(ghost, room)
          // A v1 json member of the same sub: the roster counts both connections under it.
          const { client: v1 } = await connectJson(`${proxy.ws}/rooms/${room}?token=${tokens.ghost}`)
          const joined = await rosterUntil(watcher, room, (r, f) => r.get('ghost') === 2 && f.connections === 3)
          proxy.stall()
          const stalled = Date.now()
          const left = await rosterUntil(watcher, room, (r, f) => !r.has('ghost') && f.connections === 1, joined.roster, idle * 3 + GRACE + 5000)
          expect(Date.now() - stalled).toBeGreaterThanOrEqual(idle - 500)
          expect(left.roster.get('watcher')).toBe(1)
          const auth = { authorization: `Bearer ${tokens.w}` }
          expect(await (await fetch(`${server.http}/rooms/${room}`, { headers: auth })).json()).toMatchObject({ connections: 1 })
          ghost.ws.terminate()
          v1.ws.terminate()
        } finally {
          clearInterval(keepAlive)
          await proxy.close()
          await watcher.close()
        }
      }, 60_000)

      it('pages the roster over GET /rooms/:room/presence', async () => {
        const room = uniqueRoom('v2g')
        const subs = ['a1', 'a2', 'a3']
        const clients = []
        for (const sub of subs) {
          const { client } = await openFor(server.ws, room, await sign({ sub, rooms: ['*'] }))
          await subscribe(client, room)
          clients.push(client)
        }
        const auth = { authorization: `Bearer ${await sign({ rooms: [room] })}` }
        const get = async (q: string) => (await fetch(`${server.http}/rooms/${room}/presence${q}`, { headers: auth })).json() as Promise<any>
        let page = await get('?limit=2')
        // The roster is as of the last presence tick: wait for the tick that has all three.
        for (let i = 0; i < 250 && page.connections !== 3; i++) {
          await sleep(20)
          page = await get('?limit=2')
        }
        expect(page).toMatchObject({ room, connections: 3, members: [{ sub: 'a1' }, { sub: 'a2' }], cursor: 'a2' })
        expect(await get(`?limit=2&cursor=${page.cursor}`)).toEqual({ room, connections: 3, members: [{ sub: 'a3', connections: 1 }] })
        expect((await fetch(`${server.http}/rooms/${room}/presence`)).status).toBe(401)
        await Promise.all(clients.map((c) => c.close()))
      })
    })
  })
}
