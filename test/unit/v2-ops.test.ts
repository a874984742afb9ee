/** A protocol v2 session's refusals and closes, counted in the instance's metrics as v1's are (and only once). */
import { describe, expect, it } from 'vitest'
import { Hub, Session } from '../../src/index.ts'
import { FakeClock, FakeConnection, config, flush } from './fakes.ts'

function setup(overrides = {}) {
  const clock = new FakeClock()
  const hub = new Hub({ config: config(overrides), clock })
  const open = () => {
    const conn = new FakeConnection()
    const session = new Session(hub, conn, undefined, clock)
    session.open()
    return { conn, session, send: (frame: object) => session.receive(JSON.stringify(frame)) }
  }
  return { hub, open, metrics: hub.ops.metrics }
}

describe('a v2 session in the metrics', () => {
  it('counts a subscribe a full room refuses as a refused frame, not a close', async () => {
    const { hub, open, metrics } = setup({ maxRoomConnections: 1 })
    hub.room('r').join(new FakeConnection(), { mode: 'json' })
    const a = open()
    a.send({ type: 'subscribe', room: 'r', id: 's' })
    await flush()
    expect(a.conn.ofType('error')).toEqual([expect.objectContaining({ code: 'room_full', room: 'r', id: 's' })])
    expect(metrics.framesRefused.get('room_full')).toBe(1)
    expect(metrics.closes.get('room_full')).toBe(0)
  })

  it('counts a close the room found (slow consumer) once for the connection, however many rooms it held', async () => {
    const { open, metrics } = setup({ maxBufferedBytes: 10 })
    const a = open()
    const b = open()
    for (const room of ['r1', 'r2', 'r3']) a.send({ type: 'subscribe', room })
    await flush()
    a.conn.buffered = 100
    b.send({ type: 'publish', room: 'r1', data: 'x' })
    await flush()
    expect(a.conn.closedWith?.reason).toMatch(/^slow_consumer/)
    expect(metrics.closes.get('slow_consumer')).toBe(1)
  })

  it('counts v2 connections in the connections gauge once each, and their subscriptions not as json members', async () => {
    const { hub, open } = setup()
    const a = open()
    for (const room of ['r1', 'r2']) a.send({ type: 'subscribe', room })
    hub.room('r1').join(new FakeConnection(), { mode: 'json' })
    await flush()
    expect(hub.membersByMode()).toEqual({ raw: 0, json: 1, v2: 1 })
  })

  it('counts a publish to a room it is not subscribed to as a WebSocket publish', async () => {
    const { open, metrics } = setup()
    open().send({ type: 'publish', room: 'r', data: 1, id: 'p' })
    await flush()
    expect(metrics.published.get('ws')).toBe(1)
    expect(metrics.published.get('http')).toBe(0)
  })
})
