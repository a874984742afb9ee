/** Idempotent publish across instances: the dedupe lookup is in Redis's append script, so a resend through another instance is still a repeat. */
import { expect, it } from 'vitest'
import type { TestClient } from '../support/client.ts'
import { connectJson, uniqueRoom } from '../support/client.ts'
import type { ScaleContext } from './suite.ts'

export function crossDedupeScenarios(ctx: ScaleContext): void {
  const at = (server: 'a' | 'b', room: string, q = '') => `${ctx[server].ws}/rooms/${room}${q}`
  const post = (server: 'a' | 'b', room: string, body: string, key: string) =>
    fetch(`${ctx[server].http}/rooms/${room}/messages`, { method: 'POST', body, headers: { 'idempotency-key': key } })
  const messages = async (client: TestClient) => (await client.drain(300)).map((r) => JSON.parse(r.data as string)).filter((f) => f.type === 'message')

  it('a client key that publishes on A and resends the id on B gets the first seq; members on both get it once', async () => {
    const room = uniqueRoom()
    const listeners = [await connectJson(at('a', room)), await connectJson(at('b', room))]
    const onA = await connectJson(at('a', room, '?client=roaming'))
    onA.client.send({ type: 'publish', data: 'across', id: 'x1' })
    expect(await onA.client.frame('ack')).toEqual({ type: 'ack', id: 'x1', seq: 1 })
    onA.client.ws.terminate()
    const onB = await connectJson(at('b', room, '?client=roaming'))
    onB.client.send({ type: 'publish', data: 'across', id: 'x1' })
    expect(await onB.client.frame('ack')).toEqual({ type: 'ack', id: 'x1', seq: 1, duplicate: true })
    // The same id from another key on B is its own entry.
    const other = await connectJson(at('b', room, '?client=other'))
    other.client.send({ type: 'publish', data: 'mine', id: 'x1' })
    expect(await other.client.frame('ack')).toEqual({ type: 'ack', id: 'x1', seq: 2 })
    for (const l of listeners)
      expect((await messages(l.client)).map((f) => [f.seq, f.data])).toEqual([
        [1, 'across'],
        [2, 'mine'],
      ])
    await Promise.all([...listeners, onB, other].map((c) => c.client.close()))
  })

  it('racing resends of one id on both instances publish it once', async () => {
    const room = uniqueRoom()
    const listener = await connectJson(at('b', room))
    const clients = [await connectJson(at('a', room, '?client=racer')), await connectJson(at('b', room, '?client=racer'))]
    for (let i = 0; i < 10; i++) for (const c of clients) c.client.send({ type: 'publish', data: `r${i}`, id: `r${i}` })
    // Each connection also hears the other's entries, as any member would.
    const acksOf = async (c: TestClient) => {
      const out: { id: string; seq: number; duplicate?: true }[] = []
      while (out.length < 10) out.push(await c.frame('ack', 15_000, ['presence', 'message']))
      return out
    }
    const acks = await Promise.all(clients.map((c) => acksOf(c.client)))
    for (let i = 0; i < 10; i++) {
      const pair = acks.map((list) => list.find((a) => a.id === `r${i}`))
      expect(pair[0]?.seq).toBe(pair[1]?.seq)
      expect(pair.filter((a) => a?.duplicate === true).length).toBe(1)
    }
    const got = await messages(listener.client)
    expect(got.map((f) => f.seq)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1))
    await Promise.all([listener, ...clients].map((c) => c.client.close()))
  })

  it('HTTP: an Idempotency-Key sent to A and repeated on B is 202 duplicate with the first seq', async () => {
    const room = uniqueRoom()
    const first = await post('a', room, 'once', 'http-1')
    expect(await first.json()).toEqual({ seq: 1 })
    const again = await post('b', room, 'once', 'http-1')
    expect(again.status).toBe(202)
    expect(await again.json()).toEqual({ seq: 1, duplicate: true })
    const other = await post('b', room, 'another body', 'http-1')
    expect(other.status).toBe(422)
    expect(await (await fetch(`${ctx.b.http}/rooms/${room}`)).json()).toMatchObject({ seq: 1 })
  })
}
