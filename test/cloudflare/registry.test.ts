/**
 * The room registry and per-room cost on Cloudflare (wrangler dev on workerd,
 * which hibernates an idle object after 10 s as the platform does): rooms
 * report to the registry, the listing reads only the registry (no room
 * wakes), and each room object counts its wake-ups, time awake and asleep,
 * the pings the runtime answered while it slept, and its messages, logging
 * one JSON line when it wakes and one when it goes idle.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { TEST_ENV } from '../conformance/suite.ts'
import { connect, connectJson, sleep, uniqueRoom } from '../support/client.ts'
import type { ServerHandle } from '../support/server.ts'
import { removeDir, startWrangler, tempDir } from '../support/wrangler.ts'

const ADMIN_TOKEN = 'registry-admin-token-0123456789'
const dir = tempDir('roomcast-cf-registry-')
let server: ServerHandle

beforeAll(async () => {
  // The default idle timeout, as a deployment has it: the idle reaper's first look (an alarm, which wakes the
  // object) comes after these scenarios, which count wakes and alarms of rooms whose members sit silent.
  server = await startWrangler({ ...TEST_ENV, IDLE_TIMEOUT_MS: '60000', ADMIN_TOKEN }, dir)
}, 120_000)

afterAll(async () => {
  await server?.stop()
  removeDir(dir)
}, 30_000)

const admin = async (path: string, init: RequestInit = {}) => {
  const res = await fetch(`${server.http}${path}`, { ...init, headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
  expect(res.status, `${path}: ${res.headers.get('x-roomcast-error')}`).toBe(200)
  return (await res.json()) as any
}

/** The JSON lines the room objects logged (through console.log, as Workers Logs index them) about `room`. */
function lines(room: string): any[] {
  return server
    .output()
    .split('\n')
    .map((l) => l.slice(l.indexOf('{')))
    .filter((l) => l.startsWith('{') && l.includes(`"room":"${room}"`))
    .flatMap((l) => {
      try {
        return [JSON.parse(l)]
      } catch {
        return []
      }
    })
}

async function until<T>(read: () => Promise<T> | T, check: (v: T) => boolean, ms = 20_000): Promise<T> {
  const deadline = Date.now() + ms
  let v = await read()
  while (!check(v) && Date.now() < deadline) {
    await sleep(200)
    v = await read()
  }
  return v
}

const listed = async (room: string) => (await admin('/admin/rooms?limit=1000')).rooms.find((r: any) => r.room === room)

it('lists rooms from the registry, with what each reported, and listing wakes no room', async () => {
  const room = uniqueRoom('reg')
  const a = await connectJson(`${server.ws}/rooms/${room}`)
  const b = await connect(`${server.ws}/rooms/${room}`)
  a.client.send({ type: 'publish', data: 'hello', id: 'h' })
  expect(await a.client.frame('ack')).toMatchObject({ seq: 1 })
  const row = await until(
    () => listed(room),
    (r) => r?.connections === 2 && r?.seq === 1,
  )
  expect(row).toMatchObject({ room, connections: 2, seq: 1, historyBytes: 5 })
  expect(row.cost).toMatchObject({ wakeUps: 1, messages: 1, awake: true })
  expect(row.cost.reports).toBeGreaterThanOrEqual(1)

  // Asleep: listing it again asks the registry only, so the room does not wake.
  await sleep(15_000)
  const woke = () => lines(room).filter((l) => l.msg === 'room woke').length
  const before = woke()
  const again = await listed(room)
  expect(again).toMatchObject({ connections: 2, seq: 1 })
  expect(again.cost.awake).toBe(false)
  await sleep(500)
  expect(woke()).toBe(before)

  await b.close()
  await a.client.close()
  const empty = await until(
    () => listed(room),
    (r) => r?.connections === 0,
  )
  expect(empty.connections).toBe(0)
}, 90_000)

it("counts a room's wake-ups, time awake and asleep, pings answered while asleep, and its messages; logs each wake and idle", async () => {
  const room = uniqueRoom('cost')
  const json = await connectJson(`${server.ws}/rooms/${room}`)
  const raw = await connect(`${server.ws}/rooms/${room}`)
  json.client.send({ type: 'publish', data: 'one', id: '1' })
  expect(await json.client.frame('ack')).toMatchObject({ seq: 1 })
  await raw.text()
  await json.client.drain()
  // The first idle line comes once nothing has happened for the flush interval.
  const idle = await until(
    () => lines(room).filter((l) => l.msg === 'room idle'),
    (ls) => ls.length > 0,
  )
  expect(idle[0]).toMatchObject({ level: 'info', room, connections: 2, messages: 1 })
  expect(typeof idle[0].time).toBe('string')

  // workerd hibernates the object 10 s after it went idle; a json ping is then answered without waking it.
  await sleep(14_000)
  await json.client.drain(50)
  json.client.send({ type: 'ping' })
  expect(await json.client.frame('pong', 5000, [])).toEqual({ type: 'pong' })
  await sleep(500)
  expect(lines(room).filter((l) => l.msg === 'room woke')).toEqual([])

  // A message wakes it: one wake line, which saw the ping answered while it slept.
  json.client.send({ type: 'publish', data: 'two', id: '2' })
  expect(await json.client.frame('ack', 5000, [])).toMatchObject({ seq: 2 })
  const wake = await until(
    () => lines(room).filter((l) => l.msg === 'room woke'),
    (ls) => ls.length > 0,
  )
  expect(wake).toHaveLength(1)
  expect(wake[0]).toMatchObject({ room, connections: 2, wakeUps: 2, autoResponsesWhileAsleep: 1 })
  expect(wake[0].sleptMs).toBeGreaterThan(0)

  const detail = await admin(`/admin/rooms/${room}`)
  expect(detail).toMatchObject({ room, connections: 2, seq: 2 })
  expect(detail.members).toHaveLength(2)
  const cost = detail.cost
  expect(cost).toMatchObject({ wakeUps: 2, messages: 2, autoResponses: 1 })
  expect(cost.deliveries).toBe(4)
  expect(cost.hibernatedMs).toBeGreaterThan(0)
  // Awake: the first period up to its flush plus the 10 s the runtime waited, and the current one so far.
  expect(cost.awakeMs).toBeGreaterThanOrEqual(10_000)
  expect(cost.awakeMs + cost.hibernatedMs).toBeLessThanOrEqual(Date.now() - cost.since + 1000)

  // The registry has the same figures once the room has reported again.
  const row = await until(
    () => listed(room),
    (r) => r?.cost?.wakeUps === 2 && r?.seq === 2,
  )
  expect(row.cost).toMatchObject({ wakeUps: 2, messages: 2, autoResponses: 1 })
  const stats = await admin('/admin/stats')
  expect(stats.registry.reports).toBeGreaterThanOrEqual(2)
  expect(stats.busiest.length).toBeGreaterThan(0)
  await Promise.all([json.client.close(), raw.close()])
}, 90_000)

it('asking about a room no one uses creates nothing: no cost row, no report, no line', async () => {
  const room = uniqueRoom('ghost')
  expect(await (await fetch(`${server.http}/rooms/${room}`)).json()).toEqual({ room, connections: 0, seq: 0 })
  expect(await admin(`/admin/rooms/${room}`)).toMatchObject({ room, connections: 0, seq: 0, members: [] })
  await sleep(3000)
  expect(await listed(room)).toBeUndefined()
  expect(lines(room)).toEqual([])
}, 30_000)
