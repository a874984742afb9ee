/**
 * The client resends what it could not get an answer for, against real Node
 * servers through a TCP proxy: an ack lost with the connection, a path that
 * goes silent one way, an instance killed after taking a publish. Every
 * publish resolves once with the seq every member saw, and no member sees it twice.
 */
import { describe, expect, it } from 'vitest'
import { sleep, uniqueRoom } from '../support/client.ts'
import { REDIS_URL, requireRedis, uniquePrefix } from '../support/redis.ts'
import { clientFixture, rejection, startNode, until } from './harness.ts'

const ENV = { PRESENCE_INTERVAL_MS: '20' }
const FAST = { initialDelayMs: 50, maxDelayMs: 200 }

describe('client: resends under the same id', () => {
  const fx = clientFixture(ENV, FAST)
  const { probe, proxy } = fx

  it('resends a publish whose ack was lost with the connection: it resolves once with the first seq, and others get it once', async () => {
    const room = uniqueRoom()
    const px = await proxy()
    const a = probe({ url: px.ws, room })
    const b = probe({ room })
    await Promise.all([a.welcomed(), b.welcomed()])
    px.cut('toClient')
    const sent = a.client.publish('the ack gets lost')
    // The server took it (b has it); its ack to a went nowhere.
    await until(() => b.messages.length === 1, 'b to receive it')
    px.drop()
    expect(await sent).toBe(1)
    await a.welcomed(2)
    expect(await a.client.publish('next')).toBe(2)
    await until(() => b.messages.length === 2, 'the next one')
    await sleep(200)
    expect(b.messages.map((m) => [m.seq, m.data])).toEqual([
      [1, 'the ack gets lost'],
      [2, 'next'],
    ])
    expect((await (await fetch(`${fx.server.http}/rooms/${room}`)).json()).seq).toBe(2)
  })

  it("notices a path that went silent one way (its frames arrive, nothing comes back) by its ping, and resolves on the resend's ack", async () => {
    const room = uniqueRoom()
    const px = await proxy()
    const a = probe({ url: px.ws, room, pingIntervalMs: 200 })
    const b = probe({ room })
    await Promise.all([a.welcomed(), b.welcomed()])
    px.cut('toClient')
    const sent = a.client.publish('into the silence')
    expect(await sent).toBe(1)
    expect(a.welcomes.length).toBe(2)
    expect(a.states.some((s) => s.state === 'reconnecting' && s.reason === 'nothing heard for 400 ms')).toBe(true)
    await sleep(200)
    expect(b.data()).toEqual(['into the silence'])
  })

  it('resends what the server never got (the path dropped its frames) as a first publish', async () => {
    const room = uniqueRoom()
    const px = await proxy()
    const a = probe({ url: px.ws, room, pingIntervalMs: 200 })
    const b = probe({ room })
    await Promise.all([a.welcomed(), b.welcomed()])
    px.cut('toServer')
    expect(await a.client.publish('lost on the way')).toBe(1)
    await until(() => b.messages.length === 1, 'b to receive it')
    await sleep(200)
    expect(b.data()).toEqual(['lost on the way'])
  })

  it('sends the same ?client= key on every connect, so a resend on a new connection is recognised', async () => {
    const room = uniqueRoom()
    const px = await proxy()
    const a = probe({ url: px.ws, room, clientKey: 'my-key_1' })
    const b = probe({ room })
    await Promise.all([a.welcomed(), b.welcomed()])
    expect(a.client.clientKey).toBe('my-key_1')
    expect(() => probe({ room, clientKey: 'not a key' })).toThrow(/clientKey/)
    expect(probe({ room }).client.clientKey).toMatch(/^[0-9a-f-]{32,36}$/)
    px.cut('toClient')
    const sent = a.client.publish('once')
    await until(() => b.messages.length === 1, 'b to receive it')
    px.drop()
    expect(await sent).toBe(1)
    expect(await b.client.publish('from b')).toBe(2)
    await sleep(200)
    expect(b.data()).toEqual(['once'])
    expect(a.data()).toEqual(['once', 'from b'])
  })

  it('rejects with connection_lost only when the dedupe window has passed before it could be resent', async () => {
    const room = uniqueRoom()
    const px = await proxy()
    const a = probe({ url: px.ws, room, dedupeWindowMs: 300 })
    const b = probe({ room })
    await Promise.all([a.welcomed(), b.welcomed()])
    px.cut('toClient')
    const sent = a.client.publish('outcome open')
    await until(() => b.messages.length === 1, 'b to receive it')
    await sleep(300)
    px.drop()
    expect(await rejection(sent)).toBe('connection_lost')
    await a.welcomed(2)
    await sleep(200)
    // Not resent: b still has it once.
    expect(b.data()).toEqual(['outcome open'])
  })

  it('with Redis, resends to another instance when its own is killed after taking the publish: one entry, everywhere once', async () => {
    await requireRedis()
    const env = { ...ENV, REDIS_URL, REDIS_PREFIX: uniquePrefix('resend') }
    const [one, two] = await Promise.all([startNode(env), startNode(env)])
    try {
      const room = uniqueRoom()
      const px = await proxy(one.port)
      const a = probe({ url: px.ws, room })
      const b = probe({ url: two.ws, room })
      await Promise.all([a.welcomed(), b.welcomed()])
      px.cut('toClient')
      const sent = a.client.publish('taken, then the instance died')
      await until(() => b.messages.length === 1, 'b to receive it through Redis')
      px.retarget(two.port)
      await one.stop('SIGKILL')
      expect(await sent).toBe(1)
      expect(await a.client.publish('after')).toBe(2)
      await until(() => b.messages.length === 2, 'the next one')
      await sleep(200)
      expect(b.messages.map((m) => m.seq)).toEqual([1, 2])
    } finally {
      await fx.closeProbes()
      await Promise.all([one.stop(), two.stop()])
    }
  })
})
