/**
 * An operator's disconnect lasts: the client closed with 4002 kicked (POST
 * /admin/rooms/:room/disconnect) stops, with the server's reason, and does not
 * reconnect; one closed by the operator with a code that invites a retry
 * (shutting_down) comes back by itself.
 */
import { describe, expect, it } from 'vitest'
import { uniqueRoom } from '../support/client.ts'
import { clientFixture, until } from './harness.ts'

const ADMIN_TOKEN = 'client-admin-token-0123456789'

describe('client: disconnected by an operator', () => {
  const fx = clientFixture({ ADMIN_TOKEN, PRESENCE_INTERVAL_MS: '20' }, { initialDelayMs: 100, maxDelayMs: 200 })
  const kick = async (room: string, body: object) => {
    const res = await fetch(`${fx.server.http}/admin/rooms/${room}/disconnect`, {
      method: 'POST',
      body: JSON.stringify(body),
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    })
    expect(res.status).toBe(200)
    return (await res.json()) as { disconnected: number }
  }

  it('stops at 4002 kicked, saying so, and opens no other socket', async () => {
    const room = uniqueRoom()
    const a = fx.probe({ room })
    const w = await a.welcomed()
    expect(await kick(room, { connectionId: w.connectionId })).toEqual({ disconnected: 1 })
    await until(() => a.client.state === 'closed', 'the client to stop')
    expect(a.states.at(-1)).toMatchObject({
      state: 'closed',
      code: 4002,
      reason: 'kicked: disconnected by an operator',
      error: { code: 'kicked', retry: 'terminal' },
    })
    await new Promise((r) => setTimeout(r, 1000))
    expect(a.sockets).toHaveLength(1)
  })

  it('comes back after an operator closes it with shutting_down', async () => {
    const room = uniqueRoom()
    const a = fx.probe({ room })
    await a.welcomed()
    expect(await kick(room, { code: 'shutting_down' })).toEqual({ disconnected: 1 })
    await a.welcomed(2)
    expect(a.client.state).toBe('open')
    expect(a.sockets).toHaveLength(2)
  })
})
