/** The HTTP side: publish, stats, health, the chat page and room-name validation. */
import { expect, it } from 'vitest'
import { chatJs, clientJs } from '../../src/client/bundle.gen.ts'
import { connect, connectJson, refusedStatus, uniqueRoom, waitForConnections } from '../support/client.ts'
import type { SuiteContext } from './suite.ts'

export function httpScenarios(ctx: SuiteContext): void {
  const post = (room: string, body: string, type?: string) =>
    fetch(`${ctx.server.http}/rooms/${room}/messages`, { method: 'POST', body, headers: type ? { 'content-type': type } : {} })

  it('GET /healthz answers 200', async () => {
    const res = await fetch(`${ctx.server.http}/healthz`)
    expect(res.status).toBe(200)
  })

  it('GET /readyz answers 200 {ready:true} and /healthz says status ok while the backend is up', async () => {
    const ready = await fetch(`${ctx.server.http}/readyz`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toMatchObject({ ready: true })
    expect(await (await fetch(`${ctx.server.http}/healthz`)).json()).toMatchObject({ ok: true, status: 'ok' })
  })

  it('GET / serves the chat page', async () => {
    const res = await fetch(`${ctx.server.http}/`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/text\/html/)
    expect(await res.text()).toMatch(/<title>roomcast/)
  })

  it('serves the chat page with a CSP of its own host only, and its scripts pre-built from src/client', async () => {
    const page = await fetch(`${ctx.server.http}/`)
    expect(page.headers.get('content-security-policy')).toMatch(/default-src 'none'; script-src 'self';.*connect-src 'self'/)
    expect(await page.text()).toContain('<script src="client/chat.js"></script>')
    for (const [path, body] of [['/client/chat.js', chatJs], ['/client/roomcast.js', clientJs]]) {
      const res = await fetch(`${ctx.server.http}${path}`)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toMatch(/^text\/javascript/)
      expect(await res.text()).toBe(body)
    }
  })

  it('POST /rooms/:room/messages publishes text and JSON to raw and json members, 202 {seq}', async () => {
    const room = uniqueRoom()
    const raw = await connect(`${ctx.server.ws}/rooms/${room}`)
    const json = await connectJson(`${ctx.server.ws}/rooms/${room}`)
    let res = await post(room, 'from http')
    expect(res.status).toBe(202)
    expect(await res.json()).toEqual({ seq: 1 })
    expect(await raw.text()).toBe('from http')
    expect(await json.client.frame('message')).toMatchObject({ seq: 1, data: 'from http' })
    res = await post(room, '{"a":[1,2]}', 'application/json')
    expect(await res.json()).toEqual({ seq: 2 })
    expect(JSON.parse(await raw.text())).toEqual({ a: [1, 2] })
    expect(await json.client.frame('message')).toMatchObject({ seq: 2, data: { a: [1, 2] } })
    res = await post(room, '"just a string"', 'application/json; charset=utf-8')
    expect(res.status).toBe(202)
    expect(await raw.text()).toBe('just a string')
    await Promise.all([raw.close(), json.client.close()])
  })

  it('refuses bad HTTP publishes: 400 bad JSON, 413 too large, 415 other types', async () => {
    const room = uniqueRoom()
    let res = await post(room, '{nope', 'application/json')
    expect(res.status).toBe(400)
    expect(await res.json()).toMatchObject({ error: 'bad_json' })
    res = await post(room, 'x'.repeat(64 * 1024 + 1))
    expect(res.status).toBe(413)
    expect(await res.json()).toMatchObject({ error: 'too_large' })
    res = await post(room, 'x', 'application/octet-stream')
    expect(res.status).toBe(415)
  })

  it('refuses an empty HTTP publish with 400 empty_body and publishes nothing', async () => {
    const room = uniqueRoom()
    for (const type of [undefined, 'text/plain', 'application/json']) {
      const res = await post(room, '', type)
      expect(res.status, type).toBe(400)
      expect(res.headers.get('x-roomcast-error'), type).toBe('empty_body')
      expect(await res.json(), type).toMatchObject({ error: 'empty_body' })
    }
    expect(await (await fetch(`${ctx.server.http}/rooms/${room}`)).json()).toMatchObject({ seq: 0 })
  })

  it("answers a form body (what curl -d sends) with 415 whose message names the content-type header to send", async () => {
    const room = uniqueRoom()
    for (const type of ['application/x-www-form-urlencoded', 'multipart/form-data; boundary=x']) {
      const res = await post(room, 'hi', type)
      expect(res.status, type).toBe(415)
      expect(res.headers.get('x-roomcast-error'), type).toBe('unsupported_type')
      const body = (await res.json()) as { error: string; message: string }
      expect(body.error).toBe('unsupported_type')
      expect(body.message).toContain("-H 'content-type: text/plain'")
      expect(body.message).toContain('application/json')
    }
    expect(await (await fetch(`${ctx.server.http}/rooms/${room}`)).json()).toMatchObject({ seq: 0 })
  })

  it('GET /rooms/:room reports connections and seq, back to 0 after everyone leaves', async () => {
    const room = uniqueRoom()
    const stats = async () => (await fetch(`${ctx.server.http}/rooms/${room}`)).json()
    expect(await stats()).toEqual({ room, connections: 0, seq: 0 })
    const a = await connect(`${ctx.server.ws}/rooms/${room}`)
    const b = await connectJson(`${ctx.server.ws}/rooms/${room}`)
    await post(room, 'one')
    expect(await stats()).toEqual({ room, connections: 2, seq: 1 })
    await a.close()
    b.client.ws.terminate()
    await waitForConnections(ctx.server.http, room, 0, 5000)
    expect(await stats()).toEqual({ room, connections: 0, seq: 1 })
  })

  it('refuses invalid room names with 400 on upgrade, stats and publish', async () => {
    for (const bad of ['a'.repeat(65), 'sp%20ace', 'sl%2Fash', '%C3%A9', 'semi;colon']) {
      expect(await refusedStatus(`${ctx.server.ws}/rooms/${bad}`)).toBe(400)
      expect((await fetch(`${ctx.server.http}/rooms/${bad}`)).status).toBe(400)
      expect((await post(bad, 'x')).status).toBe(400)
    }
    const ok = 'A-z_0.9'
    const c = await connect(`${ctx.server.ws}/rooms/${ok}`)
    await c.close()
  })

  it('answers unknown routes with a JSON 404', async () => {
    const res = await fetch(`${ctx.server.http}/nope`)
    expect(res.status).toBe(404)
    expect(await res.json()).toMatchObject({ error: 'not_found' })
  })
}
