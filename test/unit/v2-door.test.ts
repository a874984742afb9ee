import { describe, expect, it } from 'vitest'
import type { RoomGateway } from '../../src/index.ts'
import { createApp } from '../../src/index.ts'
import { config } from './fakes.ts'

/** A gateway that can (or cannot) hold v2 connections; upgrades are never reached: these are door checks. */
function gateway(v2: boolean, roomV2 = false): RoomGateway {
  const g: RoomGateway = {
    isFull: () => false,
    upgrade: () => new Response(null, { status: 418 }),
    stats: async (room) => ({ room, connections: 0, seq: 0 }),
    publish: async () => ({ seq: 1, duplicate: false, mismatch: false }),
  }
  if (v2) g.connect = () => new Response(null, { status: 418 })
  if (roomV2) g.connectRoom = () => new Response(null, { status: 418 })
  return g
}

const check = (app: ReturnType<typeof createApp>, path = '/?check&protocol=roomcast.v2') => app.request(path)

describe('the door of protocol v2', () => {
  it('lets a v2 door check on / through where the gateway holds v2 connections', async () => {
    expect((await check(createApp({ config: config(), gateway: gateway(true) }))).status).toBe(204)
  })

  it('refuses v2 on / with 400 bad_request where it does not (Cloudflare), and on /rooms/:room where the gateway has no room sessions', async () => {
    const res = await check(createApp({ config: config(), gateway: gateway(false) }))
    expect(res.status).toBe(400)
    expect(res.headers.get('x-roomcast-error')).toBe('bad_request')
    expect((await check(createApp({ config: config(), gateway: gateway(true) }), '/rooms/r?check&protocol=roomcast.v2')).status).toBe(400)
  })

  it('asks the authorize hook at a v2 door check, which lets it through (test/unit/v2-authorize.test.ts has the rest)', async () => {
    const app = createApp({ config: config(), gateway: gateway(true), hooks: { authorize: () => ({ sub: 'x' }) } })
    expect((await check(app)).status).toBe(204)
  })

  it('refuses a v2 connection without a token where tokens are required', async () => {
    const app = createApp({ config: config({ access: { allowedOrigins: [], authSecret: 'x'.repeat(40) } }), gateway: gateway(true) })
    expect((await check(app)).status).toBe(401)
  })

  it('lets a v2 door check on a room URL through where the gateway serves room sessions, even where / refuses v2', async () => {
    expect((await check(createApp({ config: config(), gateway: gateway(false, true) }), '/rooms/r?check&protocol=roomcast.v2')).status).toBe(204)
  })

  it('on a room URL, asks the authorize hook about that room and wants a token granting it', async () => {
    const asked: string[] = []
    const app = createApp({
      config: config(),
      gateway: gateway(false, true),
      hooks: {
        authorize: ({ room }) => {
          asked.push(room ?? '(none)')
          return room === 'ok' ? { sub: 'x' } : { deny: 'nope', status: 403, message: 'not you' }
        },
      },
    })
    expect((await check(app, '/rooms/ok?check&protocol=roomcast.v2')).status).toBe(204)
    const no = await check(app, '/rooms/other?check&protocol=roomcast.v2')
    expect([no.status, no.headers.get('x-roomcast-error')]).toEqual([403, 'nope'])
    expect(asked).toEqual(['ok', 'other'])
    const tokens = createApp({ config: config({ access: { allowedOrigins: [], authSecret: 'x'.repeat(40) } }), gateway: gateway(false, true) })
    expect((await check(tokens, '/rooms/r?check&protocol=roomcast.v2')).status).toBe(401)
  })
})
