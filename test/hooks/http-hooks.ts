/**
 * HTTP hooks (HOOK_URL) against a real backend: a node:http server this test starts, which checks every
 * request's signature and answers by the event's contents. Run against the standalone server of each
 * runtime (http-hooks.*.test.ts).
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, hmacKey, verifySignature } from '../../src/index.ts'
import { connectJson, refusedStatus } from '../support/client.ts'
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
