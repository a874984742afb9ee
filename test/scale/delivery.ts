/** Messages across instances: both ways, both modes, one order under concurrency, resume, HTTP publish. */
import { expect, it } from 'vitest'
import { connect, connectJson } from '../support/client.ts'
import { present } from '../support/present.ts'
import type { ScaleContext } from './suite.ts'

export function crossDeliveryScenarios(ctx: ScaleContext): void {
  const at = (server: 'a' | 'b', room: string, q = '') => `${ctx[server].ws}/rooms/${room}${q}`
  const post = (server: 'a' | 'b', room: string, body: string, type = 'text/plain') =>
    fetch(`${ctx[server].http}/rooms/${room}/messages`, { method: 'POST', body, headers: { 'content-type': type } })

  it('delivers both ways between instances, raw and json', async () => {
    const room = ctx.room()
    const rawA = await connect(at('a', room))
    const rawB = await connect(at('b', room))
    const jsonA = await connectJson(at('a', room))
    const jsonB = await connectJson(at('b', room))
    rawA.send('from raw on A')
    for (const c of [rawA, rawB]) expect(await c.text()).toBe('from raw on A')
    for (const j of [jsonA, jsonB]) expect(await j.client.frame('message')).toMatchObject({ seq: 1, data: 'from raw on A' })
    jsonB.client.send({ type: 'publish', data: { n: 2, text: 'from json on B' }, id: 'b1' })
    expect(await jsonB.client.frame('ack')).toEqual({ type: 'ack', id: 'b1', seq: 2 })
    for (const c of [rawA, rawB]) expect(JSON.parse(await c.text())).toEqual({ n: 2, text: 'from json on B' })
    expect(await jsonA.client.frame('message')).toMatchObject({ seq: 2, data: { n: 2, text: 'from json on B' } })
    rawB.send(Buffer.from([0, 1, 254, 255]))
    const bin = await rawA.next()
    expect(bin.binary).toBe(true)
    expect([...(bin.data as Buffer)]).toEqual([0, 1, 254, 255])
    expect(await jsonA.client.frame('message')).toMatchObject({ seq: 3, binary: true, data: Buffer.from([0, 1, 254, 255]).toString('base64') })
    expect([...((await rawB.next()).data as Buffer)]).toEqual([0, 1, 254, 255])
    expect(await jsonB.client.frame('message')).toMatchObject({ seq: 3, binary: true })
    // Nobody got anything twice, and the json publisher on B never got its own message back.
    for (const c of [rawA, rawB, jsonA.client, jsonB.client]) {
      const rest = (await c.drain()).filter((r) => r.binary || !String(r.data).startsWith('{"type":"presence"'))
      expect(rest).toEqual([])
    }
    await Promise.all([rawA.close(), rawB.close(), jsonA.client.close(), jsonB.client.close()])
  })

  it('gives every member on every instance one identical, gap-free order under concurrent publishers on both', async () => {
    const room = ctx.room()
    const perPublisher = 150
    const publishers = [await connectJson(at('a', room)), await connectJson(at('a', room)), await connectJson(at('b', room)), await connectJson(at('b', room))]
    const listeners = [await connectJson(at('a', room)), await connectJson(at('b', room)), await connectJson(at('b', room))]
    const rawListeners = [await connect(at('a', room)), await connect(at('b', room))]
    const total = perPublisher * publishers.length
    for (let i = 0; i < perPublisher; i++) for (const [p, m] of publishers.entries()) m.client.send({ type: 'publish', data: `${p}:${i}`, id: `${p}:${i}` })
    const streams = await Promise.all(listeners.map((l) => l.client.frames('message', total, 60_000)))
    const order = present(streams[0], "the first listener's stream").map((f) => f.data)
    for (const s of streams) {
      expect(s.map((f) => f.seq)).toEqual(Array.from({ length: total }, (_, i) => i + 1))
      expect(s.map((f) => f.data)).toEqual(order)
    }
    for (const r of rawListeners) {
      const texts: string[] = []
      while (texts.length < total) texts.push(await r.text(30_000))
      expect(texts).toEqual(order)
    }
    // Each publisher's messages keep the order it sent them in; its acks name exactly the seqs its messages got.
    for (const [p, m] of publishers.entries()) {
      const mine = order.map((d, i) => [d, i + 1] as const).filter(([d]) => d.startsWith(`${p}:`))
      expect(mine.map(([d]) => Number(d.split(':')[1]))).toEqual(Array.from({ length: perPublisher }, (_, i) => i))
      const acks: { seq: number }[] = []
      while (acks.length < perPublisher) acks.push(await m.client.frame('ack', 30_000, ['presence', 'message']))
      expect(acks.map((a) => a.seq).sort((x, y) => x - y)).toEqual(mine.map(([, seq]) => seq))
    }
    await Promise.all([...publishers, ...listeners].map((m) => m.client.close()).concat(rawListeners.map((r) => r.close())))
  }, 120_000)

  it('resumes on instance B exactly what a client missed after leaving instance A', async () => {
    const room = ctx.room()
    const first = await connectJson(at('a', room))
    const pub = await connectJson(at('b', room))
    for (let i = 0; i < 5; i++) pub.client.send({ type: 'publish', data: `m${i}`, id: `p${i}` })
    await pub.client.frames('ack', 5)
    const seen = await first.client.frames('message', 5)
    await first.client.close()
    for (let i = 5; i < 9; i++) pub.client.send({ type: 'publish', data: `m${i}`, id: `p${i}` })
    await pub.client.frames('ack', 4)
    const again = await connectJson(at('b', room, `?since=${seen[4].seq}&epoch=${first.welcome.epoch}`))
    expect(again.welcome).toMatchObject({ seq: 9, epoch: first.welcome.epoch, resumed: { since: 5, complete: true } })
    const replayed = await again.client.frames('message', 4)
    expect(replayed.map((f) => [f.seq, f.data])).toEqual([
      [6, 'm5'],
      [7, 'm6'],
      [8, 'm7'],
      [9, 'm8'],
    ])
    // And live ones follow, from the other instance too.
    const other = await connectJson(at('a', room))
    other.client.send({ type: 'publish', data: 'live' })
    expect(await again.client.frame('message')).toMatchObject({ seq: 10, data: 'live' })
    await Promise.all([again.client.close(), pub.client.close(), other.client.close()])
  })

  it('shares one epoch and one seq: both instances welcome with the same head', async () => {
    const room = ctx.room()
    expect((await post('a', room, 'one')).status).toBe(202)
    const onA = await connectJson(at('a', room))
    const onB = await connectJson(at('b', room))
    expect(onB.welcome.epoch).toBe(onA.welcome.epoch)
    expect([onA.welcome.seq, onB.welcome.seq]).toEqual([1, 1])
    await Promise.all([onA.client.close(), onB.client.close()])
  })

  it('POST /rooms/:room/messages on either instance reaches members on both, with one sequence', async () => {
    const room = ctx.room()
    const onA = await connectJson(at('a', room))
    const rawB = await connect(at('b', room))
    let res = await post('a', room, 'via A')
    expect(res.status).toBe(202)
    expect(await res.json()).toEqual({ seq: 1 })
    res = await post('b', room, '{"via":"B"}', 'application/json')
    expect(await res.json()).toEqual({ seq: 2 })
    expect(await onA.client.frame('message')).toMatchObject({ seq: 1, data: 'via A' })
    expect(await onA.client.frame('message')).toMatchObject({ seq: 2, data: { via: 'B' } })
    expect(await rawB.text()).toBe('via A')
    expect(JSON.parse(await rawB.text())).toEqual({ via: 'B' })
    expect(await (await fetch(`${ctx.a.http}/rooms/${room}`)).json()).toMatchObject({ seq: 2 })
    await Promise.all([onA.client.close(), rawB.close()])
  })
}
