/** The client against a real Node server: acks, the server's errors, timeouts, the bounded queue, close() and backoff. */
import { describe, expect, it } from 'vitest'
import { uniqueRoom } from '../support/client.ts'
import { clientFixture, rejection, until } from './harness.ts'

describe('client: publish, queue, close', () => {
  const fx = clientFixture({ RATE_LIMIT: '5', RATE_BURST: '5', PRESENCE_INTERVAL_MS: '20' })
  const { probe, proxy } = fx

  it('resolves publish with the seq from the ack, and other members get the message with that seq', async () => {
    const room = uniqueRoom()
    const a = probe({ room })
    const b = probe({ room })
    await Promise.all([a.welcomed(), b.welcomed()])
    expect(await a.client.publish({ text: 'hi' })).toBe(1)
    expect(await a.client.publish('plain')).toBe(2)
    await until(() => b.messages.length === 2, 'two messages')
    expect(b.messages[0]).toMatchObject({ type: 'message', room, seq: 1, data: { text: 'hi' } })
    expect(b.messages[1]).toMatchObject({ seq: 2, data: 'plain' })
    expect(a.messages).toEqual([]) // the publisher gets an ack, not its own message
    expect(a.client.lastSeq).toBe(2)
    expect(b.client.lastSeq).toBe(2)
  })

  it('reports the state, the welcome and the presence count', async () => {
    const room = uniqueRoom()
    const a = probe({ room })
    expect(a.client.state).toBe('connecting')
    const w = await a.welcomed()
    expect(w).toMatchObject({ room, seq: 0 })
    expect(a.client.state).toBe('open')
    expect(a.client.epoch).toBe(w.epoch)
    expect(a.states.map((s) => s.state)).toEqual(['open'])
    probe({ room })
    await until(() => a.presence === 2, 'presence 2')
    expect(a.client.connections).toBe(2)
  })

  it('joins the default room when no room is given', async () => {
    const w = await probe({}).welcomed()
    expect(w.room).toBe('lobby')
  })

  it("rejects with the server's error code: rate_limited past the burst", async () => {
    const a = probe({ room: uniqueRoom() })
    await a.welcomed()
    const results = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => a.client.publish(`m${i}`)))
    const acked = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))
    const codes = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as { code: string }).code] : []))
    expect(acked).toEqual([1, 2, 3, 4, 5])
    expect(codes).toEqual(['rate_limited', 'rate_limited', 'rate_limited'])
    expect(a.client.state).toBe('open')
  })

  it('refuses data that is not JSON with bad_data, without sending it', async () => {
    const a = probe({ room: uniqueRoom() })
    await a.welcomed()
    expect(await rejection(a.client.publish(undefined))).toBe('bad_data')
    expect(await rejection(a.client.publish({ n: 1n }))).toBe('bad_data')
    expect(await a.client.publish('still fine')).toBe(1)
  })

  it('rejects with timeout when no ack comes in time (the network went silent)', async () => {
    const px = await proxy()
    const a = probe({ url: px.ws, room: uniqueRoom(), ackTimeoutMs: 300, pingIntervalMs: 0 })
    await a.welcomed()
    px.stall()
    const started = Date.now()
    expect(await rejection(a.client.publish('lost in the void'))).toBe('timeout')
    expect(Date.now() - started).toBeGreaterThanOrEqual(250)
  })

  it('queues publishes while disconnected, sends them in order once connected, and refuses what does not fit', async () => {
    const room = uniqueRoom()
    const px = await proxy()
    px.drop(true)
    const a = probe({ url: px.ws, room, maxQueue: 3, initialDelayMs: 50, maxDelayMs: 200 })
    const b = probe({ room })
    await b.welcomed()
    const queued = ['q1', 'q2', 'q3'].map((d) => a.client.publish(d))
    expect(await rejection(a.client.publish('q4'))).toBe('queue_full')
    expect(a.client.queued).toBe(3)
    await until(() => px.accepted >= 2, 'a refused attempt or two')
    expect(a.client.state).toBe('connecting')
    px.restore()
    expect(await Promise.all(queued)).toEqual([1, 2, 3])
    await until(() => b.messages.length === 3, 'three messages')
    expect(b.data()).toEqual(['q1', 'q2', 'q3'])
    expect(a.client.queued).toBe(0)
  })

  it('times out a queued publish that never gets a connection, and takes it out of the queue', async () => {
    const px = await proxy()
    px.drop(true)
    // Retries stay well inside the ack timeout, so the second publish is not racing a long backoff under load.
    const a = probe({ url: px.ws, room: uniqueRoom(), maxQueue: 1, ackTimeoutMs: 1500, initialDelayMs: 50, maxDelayMs: 100 })
    expect(await rejection(a.client.publish('never'))).toBe('timeout')
    expect(a.client.queued).toBe(0)
    const next = a.client.publish('room again') // the slot is free: not refused with queue_full
    expect(a.client.queued).toBe(1)
    px.restore()
    expect(await next).toBe(1)
  })

  it('close() stops reconnecting and rejects what waits with closed', async () => {
    const px = await proxy()
    const a = probe({ url: px.ws, room: uniqueRoom(), initialDelayMs: 50, maxDelayMs: 100 })
    await a.welcomed()
    px.drop(true)
    await until(() => a.client.state === 'reconnecting', 'reconnecting')
    const waiting = a.client.publish('queued')
    await a.client.close()
    expect(await rejection(waiting)).toBe('closed')
    expect(await rejection(a.client.publish('after close'))).toBe('closed')
    const attempts = px.accepted
    px.restore()
    // A control with the same backoff, refused all along: by its fourth attempt a closed client that still
    // retried would have tried (and, the network being back, connected) too.
    const cx = await proxy()
    cx.drop(true)
    probe({ url: cx.ws, room: uniqueRoom(), initialDelayMs: 50, maxDelayMs: 100 })
    await until(() => cx.accepted >= 4, 'four attempts of the control')
    expect(px.accepted).toBe(attempts)
    expect(a.client.state).toBe('closed')
    expect(a.states.at(-1)).toMatchObject({ state: 'closed' })
  })

  it('close() on an open connection leaves the room', async () => {
    const room = uniqueRoom()
    const a = probe({ room })
    await a.welcomed()
    const stats = async () => ((await (await fetch(`${fx.server.http}/rooms/${room}`)).json()) as { connections: number }).connections
    expect(await stats()).toBe(1)
    await a.client.close()
    await until(async () => (await stats()) === 0 || undefined, 'the room to be empty')
    expect(a.states.map((s) => s.state)).toEqual(['open', 'closed'])
  })

  it('backs off exponentially with jitter while the server is unreachable, up to maxDelayMs', async () => {
    const px = await proxy()
    px.drop(true)
    const a = probe({ url: px.ws, initialDelayMs: 40, maxDelayMs: 320 })
    await until(() => a.states.length >= 6, 'six attempts', 15_000)
    const delays = a.states.slice(0, 6).map((s) => s.delayMs)
    delays.forEach((d, i) => {
      const bound = Math.min(320, 40 * 2 ** i)
      expect(d).toBeGreaterThanOrEqual(bound / 2)
      expect(d).toBeLessThanOrEqual(bound)
    })
    expect(a.states.slice(0, 6).map((s) => s.attempt)).toEqual([1, 2, 3, 4, 5, 6])
  })
})
