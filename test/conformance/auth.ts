/**
 * Who may connect and publish: signed tokens with per-room rights, the
 * browser Origin allowlist, the HTTP publish key, and the limits at the door.
 * Each group starts its own server with that configuration.
 */
import { SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connect, connectJson, refused, sleep, uniqueRoom } from '../support/client.ts'
import { at } from '../support/present.ts'
import { sendHead } from '../support/raw-socket.ts'
import type { ServerHandle } from '../support/server.ts'
import type { SuiteContext } from './suite.ts'

const SECRET = 'conformance-secret-0123456789-abcdefghij'
const PUBLISH_KEY = 'publish-key-0123456789'
const ORIGIN = 'https://app.example.com'

interface Claims {
  rooms?: unknown
  pub?: unknown
  sub?: string
  /** Seconds from now; negative: already expired. */
  ttl?: number
  secret?: string
}

/** Sign a token the way any issuer would, with jose directly (not roomcast's own helper). */
function sign({ rooms, pub, sub, ttl = 3600, secret = SECRET }: Claims): Promise<string> {
  const body: Record<string, unknown> = {}
  if (rooms !== undefined) body.rooms = rooms
  if (pub !== undefined) body.pub = pub
  const jwt = new SignJWT(body).setProtectedHeader({ alg: 'HS256' }).setExpirationTime(Math.floor(Date.now() / 1000) + ttl)
  if (sub !== undefined) jwt.setSubject(sub)
  return jwt.sign(new TextEncoder().encode(secret))
}

/** An unsigned token (`alg: none`), which must never be accepted. */
function unsigned(claims: object): string {
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
  return `${b64({ alg: 'none' })}.${b64(claims)}.`
}

export function authScenarios(ctx: SuiteContext): void {
  describe('tokens, origins and the publish key', () => {
    let server: ServerHandle
    const seen: string[] = []
    const url = (room: string, token?: string) => {
      if (token !== undefined) seen.push(token)
      return `${server.ws}/rooms/${room}${token === undefined ? '' : `?token=${token}`}`
    }
    const post = (room: string, body: string, auth?: string, headers: Record<string, string> = {}) =>
      fetch(`${server.http}/rooms/${room}/messages`, {
        method: 'POST',
        body,
        headers: { ...headers, ...(auth === undefined ? {} : { authorization: `Bearer ${auth}` }) },
      })

    beforeAll(async () => {
      server = await ctx.target.start({
        ...ctx.env,
        AUTH_SECRET: SECRET,
        ALLOWED_ORIGINS: `${ORIGIN}, http://localhost:3000`,
        PUBLISH_KEY,
        // Slow sweeps, so the expiry scenario proves the close is timed, not swept.
        PING_INTERVAL_MS: '60000',
        IDLE_TIMEOUT_MS: '120000',
      })
    }, 120_000)
    afterAll(async () => {
      await server?.stop()
    }, 30_000)

    it('refuses an upgrade without a token with 401 before the upgrade', async () => {
      const r = await refused(url(uniqueRoom()))
      expect(r.status).toBe(401)
      expect(r.error).toBe('unauthorized')
      expect(r.headers['www-authenticate']).toMatch(/^Bearer/)
      expect((await refused(url(uniqueRoom()), { protocols: 'roomcast.v1' })).status).toBe(401)
    })

    it('refuses bad, unsigned, malformed and expired tokens with 401', async () => {
      const room = uniqueRoom()
      const expired = await sign({ rooms: [room], ttl: -10 })
      const cases: [string, string][] = [
        ['wrong secret', await sign({ rooms: [room], secret: 'another-secret-0123456789-abcdefghijkl' })],
        ['expired', expired],
        ['alg none', unsigned({ rooms: [room], exp: Math.floor(Date.now() / 1000) + 3600 })],
        ['not a JWT', 'garbage'],
        ['no rooms claim', await sign({})],
        ['rooms not a list', await sign({ rooms: room })],
        ['pub not a boolean', await sign({ rooms: [room], pub: 'yes' })],
      ]
      for (const [what, token] of cases) {
        const r = await refused(url(room, token))
        expect(r.status, what).toBe(401)
        expect(r.error, what).toBe('unauthorized')
      }
      const noExp = await new SignJWT({ rooms: [room] }).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET))
      expect((await refused(url(room, noExp))).status, 'no exp').toBe(401)
      // Over plain HTTP the body says why, so a client knows to fetch a new token.
      const res = await fetch(`${server.http}/rooms/${room}`, { headers: { authorization: `Bearer ${expired}` } })
      expect(res.status).toBe(401)
      expect(await res.json()).toEqual({ error: 'unauthorized', message: 'token expired' })
    })

    it('refuses a token for another room with 403, the same answer whether or not that room exists', async () => {
      const used = uniqueRoom('used')
      const member = await connect(url(used, await sign({ rooms: [used] })))
      const token = await sign({ rooms: ['somewhere-else'] })
      const existing = await refused(url(used, token))
      const never = await refused(url(uniqueRoom('never'), token))
      expect(existing.status).toBe(403)
      expect(never.status).toBe(403)
      expect(never.error).toBe(existing.error)
      expect(never.body).toEqual(existing.body)
      expect(existing.error).toBe('forbidden')
      await member.close()
    })

    it('accepts a token as ?token= and as a second subprotocol entry, and never echoes it as the subprotocol', async () => {
      const room = uniqueRoom()
      const token = await sign({ rooms: [room], pub: true })
      seen.push(token)
      const { client: viaProtocol, welcome } = await connectJson(url(room), { protocols: ['roomcast.v1', token] })
      expect(viaProtocol.ws.protocol).toBe('roomcast.v1')
      expect(welcome).toMatchObject({ type: 'welcome', room })
      const { client: viaQuery } = await connectJson(url(room, token))
      expect(viaQuery.ws.protocol).toBe('roomcast.v1')
      const raw = await connect(url(room, token))
      expect(raw.ws.protocol).toBe('')
      raw.send('hello')
      expect(await raw.text()).toBe('hello')
      expect(await viaProtocol.frame('message')).toMatchObject({ data: 'hello' })
      await Promise.all([viaProtocol.close(), viaQuery.close(), raw.close()])
    })

    it('shows the token subject as from, whatever from, seq, ts or room the client sends', async () => {
      const room = uniqueRoom()
      const alice = await connectJson(url(room, await sign({ rooms: [room], pub: true, sub: 'alice' })))
      const bob = await connectJson(url(room, await sign({ rooms: [room], sub: 'bob' })))
      alice.client.send({ type: 'publish', data: 'hi', id: 'a1', from: 'mallory', seq: 999, ts: 1, room: 'elsewhere' })
      expect(await alice.client.frame('ack')).toEqual({ type: 'ack', id: 'a1', seq: 1 })
      const msg = await bob.client.frame('message')
      expect(msg).toMatchObject({ room, seq: 1, data: 'hi', from: 'alice' })
      expect(msg.ts).toBeGreaterThan(1)
      await Promise.all([alice.client.close(), bob.client.close()])
    })

    it('answers a publish from a read-only token with error forbidden, and its raw frames go nowhere', async () => {
      const room = uniqueRoom()
      const reader = await connectJson(url(room, await sign({ rooms: [room] })))
      const rawReader = await connect(url(room, await sign({ rooms: [room], pub: false })))
      const listener = await connectJson(url(room, await sign({ rooms: [room] })))
      reader.client.send({ type: 'publish', data: 'let me', id: 'ro1' })
      expect(await reader.client.frame('error')).toEqual({
        type: 'error',
        code: 'forbidden',
        message: expect.any(String),
        id: 'ro1',
      })
      rawReader.send('raw attempt')
      const writer = await connectJson(url(room, await sign({ rooms: [room], pub: true })))
      writer.client.send({ type: 'publish', data: 'allowed', id: 'w1' })
      expect(await writer.client.frame('ack')).toMatchObject({ id: 'w1', seq: 1 })
      // The first message anyone receives is the writer's: the read-only frames were dropped.
      expect(await listener.client.frame('message')).toMatchObject({ seq: 1, data: 'allowed' })
      expect(await rawReader.text()).toBe('allowed')
      await Promise.all([reader.client.close(), rawReader.close(), listener.client.close(), writer.client.close()])
    })

    it('matches room patterns: "prefix*" grants rooms starting with prefix, "*" grants any room', async () => {
      const prefix = uniqueRoom('team')
      const token = await sign({ rooms: [`${prefix}-*`, 'exact-room'] })
      for (const room of [`${prefix}-a`, `${prefix}-`, 'exact-room']) {
        const c = await connect(url(room, token))
        await c.close()
      }
      for (const room of [prefix, `x${prefix}-a`, 'exact-room2', 'exact-roo']) {
        expect((await refused(url(room, token))).status, room).toBe(403)
      }
      const any = await connect(url(uniqueRoom(), await sign({ rooms: ['*'] })))
      await any.close()
    })

    it('closes a connection whose token expires with 4001 token_expired, on time', async () => {
      const room = uniqueRoom()
      const token = await sign({ rooms: [room], pub: true, ttl: 2 })
      const exp = JSON.parse(Buffer.from(at(token.split('.'), 1), 'base64url').toString()).exp * 1000
      const { client } = await connectJson(url(room, token))
      const raw = await connect(url(room, token))
      const closingAt = await Promise.all([client.closing(), raw.closing()])
      // The server sweeps only every 60 s here, so a Close frame within a second or two of exp proves a timer.
      for (const at of closingAt) {
        expect(at).toBeGreaterThanOrEqual(exp - 1000)
        expect(at).toBeLessThan(exp + 2500)
      }
      for (const closed of await Promise.all([client.closed, raw.closed])) {
        expect(closed.code).toBe(4001)
        expect(closed.reason).toMatch(/^token_expired: /)
      }
    }, 60000)

    it('refuses a browser upgrade from an unlisted Origin with 403, even with a good token', async () => {
      const room = uniqueRoom()
      const token = await sign({ rooms: [room] })
      for (const origin of ['https://evil.example', 'null', 'https://app.example.com.evil.example', 'http://app.example.com']) {
        const r = await refused(url(room, token), { headers: { origin } })
        expect(r.status, origin).toBe(403)
        expect(r.error).toBe('bad_origin')
      }
      // Origin is checked before credentials: no token oracle for foreign pages.
      expect((await refused(url(room), { headers: { origin: 'https://evil.example' } })).status).toBe(403)
      for (const headers of [{ origin: ORIGIN }, { origin: 'http://localhost:3000' }, {}] as Record<string, string>[]) {
        const c = await connect(url(room, token), { headers })
        await c.close()
      }
    })

    it('requires the publish key (or a publishing token) on POST /rooms/:room/messages', async () => {
      const room = uniqueRoom()
      const listener = await connectJson(url(room, await sign({ rooms: [room] })))
      let res = await post(room, 'nobody')
      expect(res.status).toBe(401)
      expect(await res.json()).toMatchObject({ error: 'unauthorized' })
      res = await post(room, 'wrong', 'not-the-publish-key-at-all')
      expect(res.status).toBe(401)
      res = await post(room, 'reader', await sign({ rooms: [room], sub: 'r' }))
      expect(res.status).toBe(403)
      res = await post(room, 'other room', await sign({ rooms: ['elsewhere'], pub: true }))
      expect(res.status).toBe(403)
      res = await post(room, 'evil page', PUBLISH_KEY, { origin: 'https://evil.example' })
      expect(res.status).toBe(403)
      res = await post(room, 'with key', PUBLISH_KEY)
      expect(res.status).toBe(202)
      expect(await res.json()).toEqual({ seq: 1 })
      res = await post(room, 'as carol', await sign({ rooms: [room], pub: true, sub: 'carol' }))
      expect(res.status).toBe(202)
      const [first, second] = await listener.client.frames('message', 2)
      expect(first).toMatchObject({ seq: 1, data: 'with key' })
      expect(first.from).toBeUndefined()
      expect(second).toMatchObject({ seq: 2, data: 'as carol', from: 'carol' })
      await listener.client.close()
    })

    it('deduplicates a publish id per token sub: one sub is one publisher on every connection, another sub is another', async () => {
      const room = uniqueRoom()
      const tab1 = await connectJson(url(room, `${await sign({ rooms: [room], pub: true, sub: 'alice' })}&client=tab-1`))
      const tab2 = await connectJson(url(room, `${await sign({ rooms: [room], pub: true, sub: 'alice' })}&client=tab-2`))
      const bob = await connectJson(url(room, `${await sign({ rooms: [room], pub: true, sub: 'bob' })}&client=tab-1`))
      tab1.client.send({ type: 'publish', data: 'hi', id: 'm1' })
      expect(await tab1.client.frame('ack')).toEqual({ type: 'ack', id: 'm1', seq: 1 })
      tab2.client.send({ type: 'publish', data: 'hi', id: 'm1' })
      expect(await tab2.client.frame('ack', 5000, ['presence', 'message'])).toEqual({ type: 'ack', id: 'm1', seq: 1, duplicate: true })
      bob.client.send({ type: 'publish', data: 'hi', id: 'm1' })
      expect(await bob.client.frame('ack', 5000, ['presence', 'message'])).toEqual({ type: 'ack', id: 'm1', seq: 2 })
      await Promise.all([tab1.client, tab2.client, bob.client].map((c) => c.close()))
    })

    it('deduplicates an HTTP Idempotency-Key per caller: a token sub, the publish key holders, each their own', async () => {
      const room = uniqueRoom()
      const key = { 'idempotency-key': 'k-1' }
      const carol = await sign({ rooms: [room], pub: true, sub: 'carol' })
      expect(await (await post(room, 'm', PUBLISH_KEY, key)).json()).toEqual({ seq: 1 })
      expect(await (await post(room, 'm', PUBLISH_KEY, key)).json()).toEqual({ seq: 1, duplicate: true })
      expect(await (await post(room, 'm', carol, key)).json()).toEqual({ seq: 2 })
      expect(await (await post(room, 'm', await sign({ rooms: [room], pub: true, sub: 'carol' }), key)).json()).toEqual({ seq: 2, duplicate: true })
      expect(await (await post(room, 'm', await sign({ rooms: [room], pub: true, sub: 'dave' }), key)).json()).toEqual({ seq: 3 })
    })

    it('requires a credential for GET /rooms/:room, and keeps /healthz open', async () => {
      const room = uniqueRoom()
      const stats = (auth?: string) => fetch(`${server.http}/rooms/${room}`, { headers: auth === undefined ? {} : { authorization: `Bearer ${auth}` } })
      expect((await stats()).status).toBe(401)
      expect((await stats(await sign({ rooms: ['elsewhere'] }))).status).toBe(403)
      const ok = await stats(await sign({ rooms: [room] }))
      expect(ok.status).toBe(200)
      expect(await ok.json()).toEqual({ room, connections: 0, seq: 0 })
      expect((await stats(PUBLISH_KEY)).status).toBe(200)
      expect((await fetch(`${server.http}/healthz`)).status).toBe(200)
    })

    it('answers a door check (GET ?check on an upgrade URL) as the upgrade would, without joining: 204 or the refusal', async () => {
      const room = uniqueRoom()
      const token = await sign({ rooms: [room, 'lobby'] })
      const other = await sign({ rooms: ['elsewhere'] })
      seen.push(token, other)
      const check = (path: string, headers: Record<string, string> = {}) => fetch(`${server.http}${path}${path.includes('?') ? '&' : '?'}check`, { headers })
      const bearer = { authorization: `Bearer ${token}` }
      for (const res of [await check(`/rooms/${room}`, bearer), await check(`/rooms/${room}?token=${token}`), await check('/', bearer)]) {
        expect(res.status).toBe(204)
      }
      const cases: [string, Record<string, string>, number, string][] = [
        [`/rooms/${room}`, {}, 401, 'unauthorized'],
        ['/', {}, 401, 'unauthorized'],
        [`/rooms/${room}`, { authorization: `Bearer ${other}` }, 403, 'forbidden'],
        [`/rooms/${room}`, { ...bearer, origin: 'https://evil.example' }, 403, 'bad_origin'],
        ['/rooms/bad%20room!', bearer, 400, 'bad_room'],
        [`/rooms/${room}?since=x`, bearer, 400, 'bad_request'],
      ]
      for (const [path, headers, status, error] of cases) {
        const res = await check(path, headers)
        expect(res.status, path).toBe(status)
        expect(res.headers.get('x-roomcast-error'), path).toBe(error)
        expect(await res.json()).toEqual({ error, message: expect.any(String) })
      }
      const stats = await fetch(`${server.http}/rooms/${room}`, { headers: bearer })
      expect(await stats.json()).toMatchObject({ connections: 0 })
    })

    it('never writes a token to its output', async () => {
      expect(seen.length).toBeGreaterThan(5)
      const out = server.output()
      for (const token of seen) expect(out.includes(token)).toBe(false)
    })
  })

  describe('the transport at the door', () => {
    const upgradeHead = (extra: string) =>
      `GET /rooms/${uniqueRoom()} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${extra}`

    it('refuses an upgrade whose headers are far too large, and keeps serving', async () => {
      const outcome = await sendHead(ctx.server.port, upgradeHead(`X-Big: ${'a'.repeat(256 * 1024)}\r\n\r\n`), 10000)
      // 431 (Node, Bun), 400 (Deno), or a closed connection: anything but an upgrade.
      expect(outcome.statusLine).not.toMatch(/ 101 /)
      if (outcome.statusLine !== '') expect(outcome.statusLine).toMatch(/^HTTP\/1\.1 4\d\d /)
      else expect(outcome.closedAfterMs).not.toBeNull()
      expect((await fetch(`${ctx.server.http}/healthz`)).status).toBe(200)
    }, 20000)

    it.runIf(ctx.target.caps.closesSlowHandshakes !== false)(
      'drops a client that never finishes its handshake',
      async () => {
        const outcome = await sendHead(ctx.server.port, upgradeHead('X-Slow: 1\r\n'), 40000)
        expect(outcome.closedAfterMs).not.toBeNull()
        expect(outcome.statusLine).not.toMatch(/ 101 /)
      },
      60000,
    )
  })

  describe('limits at the door', () => {
    let server: ServerHandle
    const room = uniqueRoom('door')
    const count = async () => ((await (await fetch(`${server.http}/rooms/${room}`)).json()) as { connections: number }).connections
    /** Wait for a fresh one-second window, so earlier upgrades do not count against a scenario. */
    const freshWindow = () => sleep(1100)

    beforeAll(async () => {
      server = await ctx.target.start({ ...ctx.env, MAX_UPGRADES_PER_IP: '5', MAX_CONNECTIONS: '3', MAX_ROOM_CONNECTIONS: '2' })
    }, 120_000)
    afterAll(async () => {
      await server?.stop()
    }, 30_000)

    it('answers upgrades past MAX_UPGRADES_PER_IP per second with 429 and Retry-After', async () => {
      await freshWindow()
      // Eleven at once span at most two one-second windows, so at most ten pass the limit of five.
      const outcomes = await Promise.all(
        Array.from({ length: 11 }, () => refused(`${server.ws}/rooms/${room}?since=x`).catch((err: Error) => ({ status: 101, err }) as never)),
      )
      const limited = outcomes.filter((r) => r.status === 429)
      expect(limited.length).toBeGreaterThanOrEqual(1)
      for (const r of limited) {
        expect(r.error).toBe('rate_limited')
        expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1)
      }
      // The rest got past the door to the next check (a bad "since" here, so nobody joins).
      expect(outcomes.filter((r) => r.status !== 429).every((r) => r.status === 400)).toBe(true)
      // Door checks count as attempts and get the same answer, so a browser can learn why it was refused.
      await freshWindow()
      const checks = await Promise.all(Array.from({ length: 11 }, () => fetch(`${server.http}/rooms/${room}?check`)))
      const checkLimited = checks.filter((r) => r.status === 429)
      expect(checkLimited.length).toBeGreaterThanOrEqual(1)
      for (const r of checkLimited) {
        expect(r.headers.get('x-roomcast-error')).toBe('rate_limited')
        expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
      }
      expect(checks.filter((r) => r.status !== 429).every((r) => r.status === 204)).toBe(true)
      await freshWindow()
      const after = await connect(`${server.ws}/rooms/${room}`)
      await after.close()
    }, 20000)

    it('refuses an upgrade to a full room with 503 room_full, X-Roomcast-Error and Retry-After', async () => {
      await freshWindow()
      const full = uniqueRoom('full')
      const members = [await connect(`${server.ws}/rooms/${full}`), await connect(`${server.ws}/rooms/${full}`)]
      const r = await refused(`${server.ws}/rooms/${full}`)
      expect(r.status).toBe(503)
      expect(r.error).toBe('room_full')
      expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1)
      await Promise.all(members.map((m) => m.close()))
    }, 20000)

    it.runIf(ctx.target.caps.instanceConnectionLimit !== false)(
      'refuses upgrades past MAX_CONNECTIONS with 503 server_full and Retry-After, and admits again when one leaves',
      async () => {
        await freshWindow()
        const members = [
          await connect(`${server.ws}/rooms/${room}`),
          await connect(`${server.ws}/rooms/${uniqueRoom('door')}`),
          await connect(`${server.ws}/rooms/${room}`),
        ] as const
        const r = await refused(`${server.ws}/rooms/${uniqueRoom('door')}`)
        expect(r.status).toBe(503)
        expect(r.error).toBe('server_full')
        expect(Number(r.headers['retry-after'])).toBeGreaterThanOrEqual(1)
        const checked = await fetch(`${server.http}/rooms/${uniqueRoom('door')}?check`)
        expect([checked.status, checked.headers.get('x-roomcast-error')]).toEqual([503, 'server_full'])
        await members[0].close()
        const deadline = Date.now() + 10000
        while ((await count()) !== 1 && Date.now() < deadline) await sleep(50)
        await freshWindow()
        const again = await connect(`${server.ws}/rooms/${room}`)
        await Promise.all([again.close(), members[1].close(), members[2].close()])
      },
      30000,
    )
  })
}
