/** Idempotent publish: a publish id (and an HTTP Idempotency-Key) is published once per publisher within the dedupe window. */
import { expect, it } from 'vitest'
import type { TestClient } from '../support/client.ts'
import { connectJson, refused, uniqueRoom } from '../support/client.ts'
import type { SuiteContext } from './suite.ts'

export function dedupeScenarios(ctx: SuiteContext): void {
  const url = (room: string, q = '') => `${ctx.server.ws}/rooms/${room}${q}`
  const post = (room: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${ctx.server.http}/rooms/${room}/messages`, { method: 'POST', body, headers })
  const stats = async (room: string) => (await (await fetch(`${ctx.server.http}/rooms/${room}`)).json()) as { seq: number }
  /** Every message frame `client` received, once no more arrive. */
  const messages = async (client: TestClient) => (await client.drain()).map((r) => JSON.parse(r.data as string)).filter((f) => f.type === 'message')

  it('acks a repeated publish id with the first seq and duplicate:true; the others receive it once', async () => {
    const room = uniqueRoom()
    const pub = await connectJson(url(room))
    const other = await connectJson(url(room))
    pub.client.send({ type: 'publish', data: 'once', id: 'r1' })
    expect(await pub.client.frame('ack')).toEqual({ type: 'ack', id: 'r1', seq: 1 })
    pub.client.send({ type: 'publish', data: 'once', id: 'r1' })
    expect(await pub.client.frame('ack')).toEqual({ type: 'ack', id: 'r1', seq: 1, duplicate: true })
    pub.client.send({ type: 'publish', data: 'next', id: 'r2' })
    expect(await pub.client.frame('ack')).toEqual({ type: 'ack', id: 'r2', seq: 2 })
    expect((await messages(other.client)).map((f) => [f.seq, f.data])).toEqual([
      [1, 'once'],
      [2, 'next'],
    ])
    expect(await stats(room)).toMatchObject({ seq: 2 })
    await Promise.all([pub.client.close(), other.client.close()])
  })

  it('publishes the same id from another publisher as an entry of its own: no one can suppress another', async () => {
    const room = uniqueRoom()
    const a = await connectJson(url(room))
    const b = await connectJson(url(room, '?client=someone-else'))
    const listener = await connectJson(url(room))
    a.client.send({ type: 'publish', data: 'from a', id: 'same' })
    expect(await a.client.frame('ack')).toEqual({ type: 'ack', id: 'same', seq: 1 })
    b.client.send({ type: 'publish', data: 'from b', id: 'same' })
    expect(await b.client.frame('ack', 5000, ['presence', 'message'])).toEqual({ type: 'ack', id: 'same', seq: 2 })
    expect((await messages(listener.client)).map((f) => f.data)).toEqual(['from a', 'from b'])
    await Promise.all([a.client, b.client, listener.client].map((c) => c.close()))
  })

  it('takes ?client= as the publisher across connections: a reconnect resending an id gets the first seq', async () => {
    const room = uniqueRoom()
    const listener = await connectJson(url(room))
    const first = await connectJson(url(room, '?client=Key_1-a'))
    first.client.send({ type: 'publish', data: 'sent before the drop', id: 'p1' })
    expect(await first.client.frame('ack')).toEqual({ type: 'ack', id: 'p1', seq: 1 })
    first.client.ws.terminate()
    const again = await connectJson(url(room, `?client=Key_1-a&since=0&epoch=${first.welcome.epoch}`))
    expect(again.welcome.resumed).toEqual({ since: 0, complete: true })
    // The replay carries it (this is another connection); the resend of its id publishes nothing more.
    expect(await again.client.frame('message')).toMatchObject({ seq: 1, data: 'sent before the drop' })
    again.client.send({ type: 'publish', data: 'sent before the drop', id: 'p1' })
    expect(await again.client.frame('ack')).toEqual({ type: 'ack', id: 'p1', seq: 1, duplicate: true })
    // Another key is another publisher, even with the same id.
    const stranger = await connectJson(url(room, '?client=Key_2'))
    stranger.client.send({ type: 'publish', data: 'mine', id: 'p1' })
    expect(await stranger.client.frame('ack', 5000, ['presence', 'message'])).toEqual({ type: 'ack', id: 'p1', seq: 2 })
    expect((await messages(listener.client)).map((f) => f.seq)).toEqual([1, 2])
    await Promise.all([listener.client, again.client, stranger.client].map((c) => c.close()))
  })

  it('refuses a ?client= key that is not 1 to 64 of A-Z a-z 0-9 _ - with 400 bad_request', async () => {
    for (const bad of ['', 'has.dot', 'sp%20ace', 'k'.repeat(65)]) {
      const r = await refused(url(uniqueRoom(), `?client=${bad}`), { protocols: 'roomcast.v1' })
      expect(r.status, bad).toBe(400)
      expect(r.error, bad).toBe('bad_request')
    }
  })

  it('HTTP: a repeated Idempotency-Key is 202 {seq, duplicate:true} and publishes nothing; another body under it is 422', async () => {
    const room = uniqueRoom()
    const listener = await connectJson(url(room))
    const key = { 'idempotency-key': '"order-42"', 'content-type': 'application/json' }
    let res = await post(room, '{"n":1}', key)
    expect(res.status).toBe(202)
    expect(await res.json()).toEqual({ seq: 1 })
    res = await post(room, '{"n":1}', { ...key, 'idempotency-key': 'order-42' })
    expect(res.status).toBe(202)
    expect(await res.json()).toEqual({ seq: 1, duplicate: true })
    res = await post(room, '{"n":2}', key)
    expect(res.status).toBe(422)
    expect(res.headers.get('x-roomcast-error')).toBe('idempotency_mismatch')
    expect(await res.json()).toMatchObject({ error: 'idempotency_mismatch' })
    // Without a key every request is a message of its own.
    for (const n of [1, 2]) expect(await (await post(room, 'no key')).json()).toEqual({ seq: n + 1 })
    expect((await messages(listener.client)).map((f) => [f.seq, f.data])).toEqual([
      [1, { n: 1 }],
      [2, 'no key'],
      [3, 'no key'],
    ])
    await listener.client.close()
  })

  it('HTTP: refuses an Idempotency-Key outside 1 to 256 characters with 400 bad_request, publishing nothing', async () => {
    const room = uniqueRoom()
    for (const bad of ['""', 'k'.repeat(257)]) {
      const res = await post(room, 'x', { 'idempotency-key': bad })
      expect(res.status).toBe(400)
      expect(await res.json()).toMatchObject({ error: 'bad_request', message: 'Idempotency-Key must be 1 to 256 characters' })
    }
    expect(await stats(room)).toMatchObject({ seq: 0 })
  })
}
