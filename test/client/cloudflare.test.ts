/**
 * The v2 client against wrangler dev (workerd), which refuses v2 on `/` (one Durable Object per room): with
 * `auto` it opens one v2 socket per room on the room's URL, and still hears who is here by identity.
 */
import { SignJWT } from 'jose'
import { afterAll, beforeAll, expect, it } from 'vitest'
import WS from 'ws'
import { RoomcastConnection } from '../../src/client/index.ts'
import { TEST_ENV } from '../conformance/suite.ts'
import { uniqueRoom } from '../support/client.ts'
import type { ServerHandle } from '../support/server.ts'
import { removeDir, startWrangler, tempDir } from '../support/wrangler.ts'
import { until } from './harness.ts'

const SECRET = 'client-cloudflare-secret-0123456789-abcdef'
const dir = tempDir('roomcast-cf-client-')
let server: ServerHandle
const open: RoomcastConnection[] = []

const sign = (sub: string) =>
  new SignJWT({ rooms: ['*'], pub: true })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setExpirationTime(Math.floor(Date.now() / 1000) + 3600)
    .sign(new TextEncoder().encode(SECRET))

beforeAll(async () => {
  server = await startWrangler({ ...TEST_ENV, AUTH_SECRET: SECRET, PRESENCE_GRACE_MS: '300' }, dir)
}, 120_000)
afterAll(async () => {
  await Promise.all(open.map((c) => c.close()))
  await server?.stop()
  removeDir(dir)
}, 30_000)

it('chooses one v2 socket per room and hears presence members by sub, messages and publishes included', async () => {
  const [r1, r2] = [uniqueRoom('cfc'), uniqueRoom('cfc')]
  const conn = (sub: string) => {
    const c = new RoomcastConnection({ url: server.ws, token: () => sign(sub), WebSocket: WS as unknown as typeof WebSocket, pingIntervalMs: 1000 })
    open.push(c)
    return c
  }
  const ann = conn('ann')
  const bob = conn('bob')
  expect(await ann.whichTransport()).toBe('room-v2')
  const a1 = ann.subscribe(r1, { presence: true })
  const a2 = ann.subscribe(r2, { presence: true })
  const b1 = bob.subscribe(r1)
  await until(() => a1.presence?.members?.get('bob') === 1 && a1.presence?.members?.get('ann') === 1, 'ann and bob in the roster of r1', 15_000)
  expect(a1.presence?.connections).toBe(2)
  const got: unknown[] = []
  a1.on('message', (m) => got.push(m))
  expect(await b1.publish({ hi: 'ann' })).toBe(1)
  await until(() => got.length === 1, 'bob’s message', 10_000)
  expect(got[0]).toMatchObject({ room: r1, seq: 1, data: { hi: 'ann' }, from: 'bob' })
  expect(await a2.publish('r2 only')).toBe(1)
  await until(() => a2.presence?.members?.get('ann') === 1, 'ann in the roster of r2', 10_000)
  // bob leaves: after the grace period the roster of r1 has ann alone.
  await bob.close()
  await until(() => a1.presence?.members?.has('bob') === false, 'bob’s leave', 15_000)
  expect([...(a1.presence?.members?.keys() ?? [])]).toEqual(['ann'])
}, 90_000)
