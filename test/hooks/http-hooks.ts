/**
 * HTTP hooks (HOOK_URL) against a real backend: a node:http server this test starts, which checks every
 * request's signature and answers by the event's contents. Run against the standalone server of each
 * runtime (http-hooks.*.test.ts).
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, hmacKey, verifySignature } from '../../src/index.ts'
import type { TestClient } from '../support/client.ts'
import { connect, connectJson, refused, refusedStatus } from '../support/client.ts'
import type { ServerHandle } from '../support/server.ts'

const SECRET = 'a-hook-secret-of-the-application'
const TIMEOUT_MS = 400

/** What the backend saw: each event, and whether its signature verified. */
interface Seen {
  event: any
  signed: boolean
}

/** A backend in the style of a Python or Go service: a JSON event in, a JSON answer out. */
async function startBackend() {
  const seen: Seen[] = []
  const key = await hmacKey(SECRET)
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (c: Buffer) => {
      body += c.toString()
    })
    req.on('end', async () => {
      const signed = await verifySignature(key, String(req.headers[TIMESTAMP_HEADER.toLowerCase()]), body, String(req.headers[SIGNATURE_HEADER.toLowerCase()]))
      const event = JSON.parse(body)
      seen.push({ event, signed })
      const answer = (a: unknown) => {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(typeof a === 'string' ? a : JSON.stringify(a))
      }
      if (event.event === 'authorize') {
        const user = event.headers['x-user']
        if (user === undefined) return answer({ deny: true, status: 401, code: 'no_session', message: 'log in first' })
        // Protocol v2 asks per room: a room of its own rules, and one the backend is slow or garbled about.
        if (event.protocol === 'roomcast.v2' && event.room === 'private') return answer({ deny: true, code: 'members_only', message: 'members only' })
        if (event.protocol === 'roomcast.v2' && event.room === 'slow') return setTimeout(() => answer({ allow: true }), TIMEOUT_MS * 3)
        if (event.protocol === 'roomcast.v2' && event.room === 'loud') return answer({ allow: true, sub: `${user}-loud`, canPublish: user !== 'reader' })
        if (user === 'slow') return setTimeout(() => answer({ allow: true }), TIMEOUT_MS * 3)
        if (user === 'garbled') return answer('{not json')
        return answer({ allow: true, sub: user, canPublish: user !== 'reader', info: { team: 'blue' } })
      }
      const text = JSON.stringify(event.data)
      if (text.includes('spoiler')) return answer({ reject: true, code: 'rejected', message: 'no spoilers', status: 451 })
      if (text.includes('slow')) return setTimeout(() => answer({}), TIMEOUT_MS * 3)
      if (text.includes('garbled')) return answer('<html>oops</html>')
      if (text.includes('shout')) return answer({ data: { text: String(event.data.text).toUpperCase(), by: event.info?.team } })
      return answer({ allow: true })
    })
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`
  return { url, seen, close: () => new Promise<void>((r) => server.close(() => r())) }
}

/** Open a v2 connection with these headers and read its welcome. */
async function openV2(ws: string, headers: Record<string, string>): Promise<{ client: TestClient; welcome: any }> {
  const client = await connect(`${ws}/`, { protocols: 'roomcast.v2', headers })
  return { client, welcome: JSON.parse(await client.text()) }
}

/** The scenarios, against a server `start` spawns with the given env. */
export function httpHookScenarios(name: string, start: (env: Record<string, string>) => Promise<ServerHandle>): void {
  describe(`HTTP hooks on ${name}`, () => {
    let backend: Awaited<ReturnType<typeof startBackend>>
    let server: ServerHandle
    beforeAll(async () => {
      backend = await startBackend()
      server = await start({ HOOK_URL: backend.url, HOOK_SECRET: SECRET, HOOK_TIMEOUT_MS: String(TIMEOUT_MS), MAX_UPGRADES_PER_IP: '1000' })
    }, 90_000)
    afterAll(async () => {
      await server?.stop()
      await backend?.close()
    })

    const post = (room: string, body: unknown, user?: string) =>
      fetch(`${server.http}/rooms/${room}/messages`, {
        method: 'POST',
        headers: user === undefined ? { 'content-type': 'application/json' } : { 'content-type': 'application/json', 'x-user': user },
        body: JSON.stringify(body),
      })

    it('admits with the identity the backend gives: from on messages, info to the message hook; signed requests', async () => {
      const { client: alice } = await connectJson(`${server.ws}/rooms/a?mode=json`, { headers: { 'x-user': 'alice', cookie: 'sid=s1' } })
      const { client: bob } = await connectJson(`${server.ws}/rooms/a?mode=json`, { headers: { 'x-user': 'bob' } })
      alice.send({ type: 'publish', data: { text: 'hi' }, id: 'p1' })
      expect(await bob.frame('message')).toMatchObject({ data: { text: 'hi' }, from: 'alice' })
      expect(await alice.frame('ack')).toMatchObject({ id: 'p1' })
      const auth = backend.seen.find((s) => s.event.event === 'authorize' && s.event.headers['x-user'] === 'alice')?.event
      expect(auth).toMatchObject({ room: 'a', action: 'join', method: 'GET', path: '/rooms/a', query: { mode: 'json' } })
      expect(auth.headers.cookie).toBe('sid=s1')
      expect(auth.headers['sec-websocket-key']).toBeUndefined()
      const msg = backend.seen.find((s) => s.event.event === 'message')?.event
      expect(msg).toMatchObject({ room: 'a', kind: 'json', data: { text: 'hi' }, from: 'alice', info: { team: 'blue' } })
      expect(typeof msg.connectionId).toBe('string')
      expect(backend.seen.every((s) => s.signed)).toBe(true)
      alice.ws.terminate()
      bob.ws.terminate()
    })

    it("refuses with the backend's status and code, on upgrades and HTTP", async () => {
      expect(await refusedStatus(`${server.ws}/rooms/b`)).toBe(401)
      const res = await post('b', { text: 'x' })
      expect(res.status).toBe(401)
      expect(res.headers.get('x-roomcast-error')).toBe('no_session')
      expect(await res.json()).toEqual({ error: 'no_session', message: 'log in first' })
      const reader = await post('b', { text: 'x' }, 'reader')
      expect(reader.status).toBe(403)
    })

    it('publishes the data the backend gives instead, over WebSocket and HTTP', async () => {
      const { client: alice } = await connectJson(`${server.ws}/rooms/c?mode=json`, { headers: { 'x-user': 'alice' } })
      const { client: bob } = await connectJson(`${server.ws}/rooms/c?mode=json`, { headers: { 'x-user': 'bob' } })
      alice.send({ type: 'publish', data: { text: 'shout this' }, id: 'p1' })
      expect(await bob.frame('message')).toMatchObject({ seq: 1, data: { text: 'SHOUT THIS', by: 'blue' } })
      const res = await post('c', { text: 'shout http' }, 'carol')
      expect(res.status).toBe(202)
      expect(await bob.frame('message')).toMatchObject({ seq: 2, data: { text: 'SHOUT HTTP' }, from: 'carol' })
      alice.ws.terminate()
      bob.ws.terminate()
    })

    it("rejects with the backend's code: an error frame with the publish id, 4xx over HTTP, no seq, nobody receives it", async () => {
      const { client: alice } = await connectJson(`${server.ws}/rooms/d?mode=json`, { headers: { 'x-user': 'alice' } })
      const { client: bob } = await connectJson(`${server.ws}/rooms/d?mode=json`, { headers: { 'x-user': 'bob' } })
      alice.send({ type: 'publish', data: { text: 'a spoiler' }, id: 'p1' })
      expect(await alice.frame('error')).toEqual({ type: 'error', code: 'rejected', message: 'no spoilers', id: 'p1' })
      const res = await post('d', { text: 'spoiler' }, 'carol')
      expect(res.status).toBe(451)
      expect(await res.json()).toMatchObject({ error: 'rejected' })
      alice.send({ type: 'publish', data: { text: 'fine' }, id: 'p2' })
      expect(await alice.frame('ack')).toMatchObject({ id: 'p2', seq: 1 })
      expect(await bob.frame('message')).toMatchObject({ seq: 1, data: { text: 'fine' } })
      alice.ws.terminate()
      bob.ws.terminate()
    })

    it('refuses with hook_timeout when the backend is slower than HOOK_TIMEOUT_MS, and keeps the connection', async () => {
      const slowJoin = await fetch(`${server.http}/rooms/e`, { headers: { 'x-user': 'slow' } })
      expect(slowJoin.status).toBe(504)
      expect(slowJoin.headers.get('x-roomcast-error')).toBe('hook_timeout')
      const { client: alice } = await connectJson(`${server.ws}/rooms/e?mode=json`, { headers: { 'x-user': 'alice' } })
      alice.send({ type: 'publish', data: { text: 'slow' }, id: 'p1' })
      alice.send({ type: 'publish', data: { text: 'after' }, id: 'p2' })
      expect(await alice.frame('error')).toMatchObject({ code: 'hook_timeout', id: 'p1' })
      // Applied in order: the second waited for the first's verdict.
      expect(await alice.frame('ack')).toMatchObject({ id: 'p2', seq: 1 })
      const res = await post('e', { text: 'slow' }, 'carol')
      expect(res.status).toBe(504)
      expect(await res.json()).toMatchObject({ error: 'hook_timeout' })
      alice.ws.terminate()
    })

    // Cloudflare refuses v2 on `/` (capability multiplexing: false), before the hook is asked; each room's
    // socket there is decided at its own upgrade, as v1's.
    it.runIf(name === 'cloudflare')('protocol v2 on / is refused with 400 before the hook is asked (multiplexing: false)', async () => {
      const r = await refused(`${server.ws}/`, { protocols: 'roomcast.v2', headers: { 'x-user': 'alice' } })
      expect(r).toMatchObject({ status: 400, error: 'bad_request' })
      expect(backend.seen.filter((s) => s.event.action === 'connect')).toEqual([])
    })

    it.runIf(name !== 'cloudflare')(
      'protocol v2: asks at the upgrade (no room) and at each subscribe and first publish (with the room); refusals are error frames',
      async () => {
        const anon = await refused(`${server.ws}/`, { protocols: 'roomcast.v2' })
        expect(anon).toMatchObject({ status: 401, error: 'no_session' })
        const { client: alice, welcome } = await openV2(server.ws, { 'x-user': 'alice', cookie: 'sid=v2' })
        expect(welcome).toMatchObject({ type: 'welcome', protocol: 'roomcast.v2', sub: 'alice' })
        const connectEvent = backend.seen.find((s) => s.event.action === 'connect' && s.event.headers['x-user'] === 'alice')?.event
        expect(connectEvent).toMatchObject({ event: 'authorize', action: 'connect', protocol: 'roomcast.v2', method: 'GET', path: '/' })
        expect(connectEvent.room).toBeUndefined()
        expect(connectEvent.headers.cookie).toBe('sid=v2')
        const { client: bob } = await openV2(server.ws, { 'x-user': 'bob' })
        const { client: reader } = await openV2(server.ws, { 'x-user': 'reader' })

        bob.send({ type: 'subscribe', room: 'loud', id: 's1' })
        expect(await bob.frame('subscribed')).toMatchObject({ room: 'loud', id: 's1' })
        alice.send({ type: 'subscribe', room: 'private', id: 's2' })
        expect(await alice.frame('error')).toEqual({ type: 'error', code: 'members_only', message: 'members only', room: 'private', id: 's2' })
        alice.send({ type: 'subscribe', room: 'slow', id: 's3' })
        expect(await alice.frame('error', 5000)).toMatchObject({ code: 'hook_timeout', room: 'slow', id: 's3' })
        // A first publish to a room asks once; the identity is the room's (`from`); read-only is forbidden.
        const before = backend.seen.length
        for (const i of [1, 2, 3]) alice.send({ type: 'publish', room: 'loud', data: { text: `hi ${i}` }, id: `p${i}` })
        // Each also goes to the message hook over HTTP, whose answers may come back in any order: applied in order.
        expect((await alice.frames('ack', 3)).map((a: any) => [a.id, a.seq])).toEqual([
          ['p1', 1],
          ['p2', 2],
          ['p3', 3],
        ])
        const got = await bob.frames('message', 3)
        expect(got.map((m: any) => [m.room, m.data.text, m.from])).toEqual([1, 2, 3].map((i) => ['loud', `hi ${i}`, 'alice-loud']))
        const vetted = backend.seen.slice(before).find((s) => s.event.event === 'message')?.event
        expect(vetted).toMatchObject({ room: 'loud', from: 'alice-loud', connectionId: welcome.connectionId, info: { team: 'blue' } })
        const asked = backend.seen.slice(before).filter((s) => s.event.event === 'authorize')
        expect(asked.map((s) => [s.event.room, s.event.action, s.event.protocol])).toEqual([['loud', 'publish', 'roomcast.v2']])
        reader.send({ type: 'publish', room: 'loud', data: 'no', id: 'r1' })
        expect(await reader.frame('error')).toMatchObject({ code: 'forbidden', room: 'loud', id: 'r1' })
        // Every refusal kept the connection: alice still subscribes.
        alice.send({ type: 'subscribe', room: 'a', id: 's4' })
        expect(await alice.frame('subscribed')).toMatchObject({ room: 'a', id: 's4' })
        for (const c of [alice, bob, reader]) c.ws.terminate()
      },
    )

    it('refuses with hook_failed when the backend answers something that is not JSON', async () => {
      const garbled = await fetch(`${server.http}/rooms/f`, { headers: { 'x-user': 'garbled' } })
      expect(garbled.status).toBe(500)
      expect(garbled.headers.get('x-roomcast-error')).toBe('hook_failed')
      const { client: alice } = await connectJson(`${server.ws}/rooms/f?mode=json`, { headers: { 'x-user': 'alice' } })
      alice.send({ type: 'publish', data: { text: 'garbled' }, id: 'p1' })
      expect(await alice.frame('error')).toMatchObject({ code: 'hook_failed', id: 'p1' })
      expect((await post('f', { text: 'garbled' }, 'carol')).status).toBe(500)
      alice.ws.terminate()
    })
  })
}
