/**
 * Presence with identities in the room Durable Object survives hibernation: the roster's announced state and
 * the subs in a grace period live in SQLite, watchers in their sockets' attachments, and a grace end rides
 * the storage alarm, which wakes the object to send the leave, once, with nothing announced again. And the
 * idle reaper's alarm wakes a hibernated object to close a socket that went silent.
 */
import { SignJWT } from 'jose'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TEST_ENV } from '../conformance/suite.ts'
import type { TestClient } from '../support/client.ts'
import { connect, sleep, uniqueRoom } from '../support/client.ts'
import type { ServerHandle } from '../support/server.ts'
import { startProxy } from '../support/tcp-proxy.ts'
import { removeDir, startWrangler, tempDir } from '../support/wrangler.ts'

const SECRET = 'cf-presence-secret-0123456789-abcdefghij'
// Longer than the 10 s after which workerd hibernates an idle object: the leave is due while it sleeps.
const GRACE = 15_000
const dir = tempDir('roomcast-cf-presence-')
let server: ServerHandle

const sign = (sub: string) =>
  new SignJWT({ rooms: ['*'], pub: true })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setExpirationTime(Math.floor(Date.now() / 1000) + 3600)
    .sign(new TextEncoder().encode(SECRET))

beforeAll(async () => {
  // The default idle timeout: the reaper's first look comes after this scenario.
  server = await startWrangler({ ...TEST_ENV, IDLE_TIMEOUT_MS: '60000', AUTH_SECRET: SECRET, PRESENCE_GRACE_MS: String(GRACE) }, dir)
}, 120_000)
afterAll(async () => {
  await server?.stop()
  removeDir(dir)
}, 30_000)

async function v2(room: string, sub: string, presence: boolean): Promise<TestClient> {
  const c = await connect(`${server.ws}/rooms/${room}?token=${await sign(sub)}`, { protocols: 'roomcast.v2' })
  await c.text()
  c.send({ type: 'subscribe', room, presence, id: 's' })
  await c.until((f: any) => f.type === 'subscribed')
  return c
}

const wakes = (room: string) => server.output().split(`"msg":"room woke","room":"${room}"`).length - 1

it('sends a leave due after the room object hibernated, once, and announces nothing again after the wakes', async () => {
  const room = uniqueRoom('cfp')
  const watcher = await v2(room, 'watcher', true)
  const ann = await v2(room, 'ann', false)
  await watcher.until((f: any) => f.type === 'presence' && (f.joins ?? []).some((j: any) => j.sub === 'ann'))
  // Hibernate (10 s without events after the final flush), then ann goes: the close wakes the object.
  await sleep(13_000)
  const woke = wakes(room)
  const gone = Date.now()
  await ann.close()
  const left = await watcher.until((f: any) => f.type === 'presence' && (f.leaves ?? []).some((l: any) => l.sub === 'ann'), GRACE + 20_000)
  expect(Date.now() - gone).toBeGreaterThanOrEqual(GRACE - 500)
  // Between the close and the leave the object slept again: the grace end's alarm woke it.
  expect(wakes(room)).toBeGreaterThanOrEqual(woke + 1)
  const after = left.filter((f: any) => f.type === 'presence')
  // The count at once, the leave after the grace period: no join of the watcher or of ann re-announced by a restored roster.
  expect(after).toEqual([
    { type: 'presence', room, connections: 1, joins: [], leaves: [] },
    { type: 'presence', room, connections: 1, joins: [], leaves: [{ sub: 'ann' }] },
  ])
  const page = await (await fetch(`${server.http}/rooms/${room}/presence`, { headers: { authorization: `Bearer ${await sign('watcher')}` } })).json()
  expect(page).toEqual({ room, connections: 1, members: [{ sub: 'watcher', connections: 1 }] })
  await watcher.close()
}, 90_000)

describe('the idle reaper across hibernation', () => {
  const IDLE = 25_000
  const dir2 = tempDir('roomcast-cf-reap-')
  let reaping: ServerHandle
  beforeAll(async () => {
    reaping = await startWrangler({ ...TEST_ENV, IDLE_TIMEOUT_MS: String(IDLE), AUTH_SECRET: SECRET }, dir2)
  }, 120_000)
  afterAll(async () => {
    await reaping?.stop()
    removeDir(dir2)
  }, 30_000)

  it('wakes the hibernated object, closes the socket that went silent, and keeps the one whose pings the runtime answered', async () => {
    const room = uniqueRoom('cfr')
    const open = async (url: string, sub: string, presence: boolean) => {
      const c = await connect(`${url}/rooms/${room}?token=${await sign(sub)}`, { protocols: 'roomcast.v2' })
      await c.text()
      c.send({ type: 'subscribe', room, presence, id: 's' })
      await c.until((f: any) => f.type === 'subscribed')
      return c
    }
    const watcher = await open(reaping.ws, 'watcher', true)
    // Answered by the runtime without waking the object: the object hibernates all the same.
    const alive = setInterval(() => watcher.send({ type: 'ping' }), 4000)
    const proxy = await startProxy(reaping.port)
    try {
      const ghost = await open(proxy.ws, 'ghost', false)
      await watcher.until((f: any) => f.type === 'presence' && (f.joins ?? []).some((j: any) => j.sub === 'ghost'))
      proxy.stall()
      const stalled = Date.now()
      const frames = await watcher.until((f: any) => f.type === 'presence' && (f.leaves ?? []).some((l: any) => l.sub === 'ghost'), IDLE * 3)
      expect(Date.now() - stalled).toBeGreaterThanOrEqual(IDLE - 1000)
      // It slept in between (a wake line after the stall), and the watcher was never closed.
      expect(reaping.output()).toContain(`"msg":"room woke","room":"${room}"`)
      expect(frames.filter((f: any) => f.type === 'presence').at(-1)).toMatchObject({ connections: 1 })
      expect(watcher.ws.readyState).toBe(watcher.ws.OPEN)
      ghost.ws.terminate()
    } finally {
      clearInterval(alive)
      await proxy.close()
      await watcher.close()
    }
  }, 120_000)
})
