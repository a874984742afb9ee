/**
 * The admin API across instances sharing one Redis: either instance lists the
 * rooms of both, shows the members on both, disconnects members wherever they
 * are and erases history for all; an instance that dies takes its rooms out
 * of the listing within three heartbeats.
 */
import { expect, it } from 'vitest'
import type { TestClient } from '../support/client.ts'
import { connect, connectJson, sleep } from '../support/client.ts'
import type { ScaleContext } from './suite.ts'

/** The ADMIN_TOKEN the scale-out instances share (SCALE_ENV). */
export const SCALE_ADMIN_TOKEN = 'scale-admin-token-0123456789'

const roomName = (tag: string) => `sadm-${tag}-${Math.random().toString(36).slice(2, 8)}`

export function crossAdminScenarios(ctx: ScaleContext): void {
  const http = (server: 'a' | 'b') => ctx[server].http
  const admin = async (base: string, path: string, init: RequestInit = {}) => {
    const res = await fetch(`${base}${path}`, { ...init, headers: { authorization: `Bearer ${SCALE_ADMIN_TOKEN}` } })
    expect(res.status, `${init.method ?? 'GET'} ${path}: ${res.headers.get('x-roomcast-error')}`).toBe(200)
    return (await res.json()) as any
  }
  const eventually = async <T>(read: () => Promise<T>, check: (v: T) => boolean, ms = 10_000): Promise<T> => {
    const deadline = Date.now() + ms
    let v = await read()
    while (!check(v) && Date.now() < deadline) {
      await sleep(100)
      v = await read()
    }
    return v
  }
  const all = async (base: string, limit: number) => {
    const rooms: any[] = []
    let cursor: string | undefined
    for (let pages = 0; pages < 500; pages++) {
      const page = await admin(base, `/admin/rooms?limit=${limit}${cursor === undefined ? '' : `&cursor=${cursor}`}`)
      rooms.push(...page.rooms)
      cursor = page.cursor
      if (cursor === undefined) break
    }
    return rooms
  }
  const at = (server: 'a' | 'b', room: string) => `${ctx[server].ws}/rooms/${room}`

  it('lists the rooms of every instance, each once, with members summed across them, from either instance', async () => {
    const both = roomName('both')
    const onlyB = roomName('onlyb')
    const clients: TestClient[] = []
    clients.push((await connectJson(at('a', both))).client, (await connectJson(at('b', both))).client, await connect(at('b', both)))
    clients.push((await connectJson(at('b', onlyB))).client)
    const res = await fetch(`${http('b')}/rooms/${onlyB}/messages`, { method: 'POST', body: 'hello' })
    expect(res.status).toBe(202)
    for (const server of ['a', 'b'] as const) {
      const rooms = await eventually(
        () => all(http(server), 1),
        (rs) => rs.some((r) => r.room === both && r.connections === 3) && rs.some((r) => r.room === onlyB && r.connections === 1),
      )
      const names = rooms.map((r) => r.room)
      expect(new Set(names).size, server).toBe(names.length)
      expect([...names].sort(), server).toEqual(names)
      expect(
        rooms.find((r) => r.room === both),
        server,
      ).toMatchObject({ connections: 3, seq: 0 })
      expect(
        rooms.find((r) => r.room === onlyB),
        server,
      ).toMatchObject({ connections: 1, seq: 1, historyBytes: 5 })
    }
    await Promise.all(clients.map((c) => c.close()))
  })

  it('shows the members on every instance, and disconnects them wherever they are', async () => {
    const room = roomName('kick')
    const aliceA = await connectJson(at('a', room))
    const aliceB = await connectJson(at('b', room))
    const bobB = await connectJson(at('b', room))
    const detail = await eventually(
      () => admin(http('a'), `/admin/rooms/${room}`),
      (d) => d.members.length === 3 && d.connections === 3,
    )
    expect(detail.members.map((m: any) => m.connectionId).sort()).toEqual(
      [aliceA.welcome.connectionId, aliceB.welcome.connectionId, bobB.welcome.connectionId].sort(),
    )
    // Through A, a member on B.
    const kicked = await admin(http('a'), `/admin/rooms/${room}/disconnect`, {
      method: 'POST',
      body: JSON.stringify({ connectionId: aliceB.welcome.connectionId }),
    })
    expect(kicked).toEqual({ disconnected: 1 })
    expect((await aliceB.client.closed).code).toBe(4002)
    // Through B, everyone left, on both.
    expect(await admin(http('b'), `/admin/rooms/${room}/disconnect`, { method: 'POST' })).toEqual({ disconnected: 2 })
    expect((await aliceA.client.closed).code).toBe(4002)
    expect((await bobB.client.closed).code).toBe(4002)
    expect(await admin(http('a'), `/admin/rooms/${room}/disconnect`, { method: 'POST' })).toEqual({ disconnected: 0 })
  })

  it('erases history through one instance for resumes on the other', async () => {
    const room = roomName('history')
    const pub = await connectJson(at('a', room))
    for (let i = 0; i < 3; i++) pub.client.send({ type: 'publish', data: `m${i}`, id: `i${i}` })
    await pub.client.frames('ack', 3)
    expect(await admin(http('b'), `/admin/rooms/${room}/history`, { method: 'DELETE' })).toMatchObject({ room, seq: 3 })
    const again = await connectJson(at('b', `${room}?since=1&epoch=${pub.welcome.epoch}`))
    expect(again.welcome).toMatchObject({ seq: 3, epoch: pub.welcome.epoch, resumed: { since: 1, complete: false } })
    await Promise.all([pub.client.close(), again.client.close()])
  })

  it('drops the rooms of an instance killed with SIGKILL from the listing within three heartbeats', async () => {
    const c = await ctx.startA(ctx.env)
    try {
      const room = roomName('dies')
      const member = await connect(`${c.ws}/rooms/${room}`)
      member.ws.on('error', () => {})
      const listed = await eventually(
        () => all(http('a'), 1000),
        (rs) => rs.some((r) => r.room === room),
      )
      expect(listed.some((r) => r.room === room)).toBe(true)
      await c.stop('SIGKILL')
      const heartbeat = Number(ctx.env.PRESENCE_HEARTBEAT_MS)
      const gone = await eventually(
        () => all(http('a'), 1000),
        (rs) => !rs.some((r) => r.room === room),
        heartbeat * 3 + 5000,
      )
      expect(gone.some((r) => r.room === room)).toBe(false)
    } finally {
      await c.stop('SIGKILL')
    }
  })
}
