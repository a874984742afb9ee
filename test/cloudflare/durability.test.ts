/**
 * What the Durable Object keeps: a room that hibernates wakes with its members
 * (from getWebSockets and their attachments), and a room whose wrangler dev
 * restarts over the same storage continues its seq, replays from SQLite and
 * still knows the publish ids (and Idempotency-Keys) it took.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { TEST_ENV } from '../conformance/suite.ts'
import { connect, connectJson, sleep, uniqueRoom } from '../support/client.ts'
import type { ServerHandle } from '../support/server.ts'
import { removeDir, startWrangler, tempDir } from '../support/wrangler.ts'

const dir = tempDir('roomcast-cf-durable-')
let server: ServerHandle

// The default idle timeout, as a deployment has it: the reaper's first look (its alarm) comes after these
// scenarios, whose clients sit silent through a hibernation that the look would otherwise interrupt.
const ENV = { ...TEST_ENV, IDLE_TIMEOUT_MS: '60000' }

beforeAll(async () => {
  server = await startWrangler(ENV, dir)
}, 120_000)

afterAll(async () => {
  await server?.stop()
  removeDir(dir)
}, 30_000)

/** Wait until the server has printed `text`; false if it has not within `ms`. */
async function printed(text: string, ms = 5000): Promise<boolean> {
  const deadline = Date.now() + ms
  while (!server.output().includes(text) && Date.now() < deadline) await sleep(50)
  return server.output().includes(text)
}

it('a hibernated room wakes with its members, their ids and modes, its seq and epoch; the json ping does not wake it', async () => {
  const room = uniqueRoom('hib')
  const raw = await connect(`${server.ws}/rooms/${room}`)
  const json = await connectJson(`${server.ws}/rooms/${room}`)
  json.client.send({ type: 'publish', data: 'before', id: 'b' })
  expect(await json.client.frame('ack')).toEqual({ type: 'ack', id: 'b', seq: 1 })
  expect(await raw.text()).toBe('before')
  await json.client.drain()

  // workerd evicts an object whose only business is hibernatable sockets after 10 s without events; the last
  // event is the reporter's final flush, its alarm up to 5 s after the last message (cloudflare-reporter.ts).
  // The object's JSON log line (docs/operations.md) when it wakes with members.
  const woke = `"msg":"room woke","room":"${room}","connections":2`
  await sleep(20_000)
  json.client.send({ type: 'ping' })
  expect(await json.client.frame('pong', 5000, [])).toEqual({ type: 'pong' })
  expect(await printed(woke, 1000)).toBe(false)

  json.client.send({ type: 'publish', data: 'after', id: 'a' })
  // The publisher's id came back from its attachment: it gets an ack, not its own message.
  expect(await json.client.frame('ack', 5000, [])).toEqual({ type: 'ack', id: 'a', seq: 2 })
  // The raw member is still raw: the text itself, no envelope.
  expect(await raw.text()).toBe('after')
  expect(await printed(woke)).toBe(true)
  // The publish key from before the eviction is in SQLite: its resend is a repeat, published to no one.
  json.client.send({ type: 'publish', data: 'before', id: 'b' })
  expect(await json.client.frame('ack', 5000, [])).toEqual({ type: 'ack', id: 'b', seq: 1, duplicate: true })

  const third = await connectJson(`${server.ws}/rooms/${room}`)
  expect(third.welcome).toMatchObject({ seq: 2, epoch: json.welcome.epoch })
  expect(await json.client.frame('presence', 5000, [])).toMatchObject({ connections: 3 })
  await raw.close()
  expect(await json.client.frame('presence', 5000, [])).toMatchObject({ connections: 2 })
  expect(await (await fetch(`${server.http}/rooms/${room}`)).json()).toEqual({ room, connections: 2, seq: 2 })
  await Promise.all([json.client.close(), third.client.close()])
}, 60_000)

it('after wrangler dev restarts over the same storage, seq continues and ?since=N&epoch=E replays from storage', async () => {
  const room = uniqueRoom('restart')
  const { client, welcome } = await connectJson(`${server.ws}/rooms/${room}`)
  for (let i = 0; i < 3; i++) client.send({ type: 'publish', data: `m${i}`, id: `i${i}` })
  expect((await client.frames('ack', 3)).map((a) => a.seq)).toEqual([1, 2, 3])
  await client.close()

  await server.stop()
  server = await startWrangler(ENV, dir)

  expect(await (await fetch(`${server.http}/rooms/${room}`)).json()).toEqual({ room, connections: 0, seq: 3 })
  const again = await connectJson(`${server.ws}/rooms/${room}?since=1&epoch=${welcome.epoch}`)
  expect(again.welcome).toMatchObject({ seq: 3, epoch: welcome.epoch, resumed: { since: 1, complete: true } })
  expect((await again.client.frames('message', 2)).map((f) => [f.seq, f.data])).toEqual([
    [2, 'm1'],
    [3, 'm2'],
  ])

  const res = await fetch(`${server.http}/rooms/${room}/messages`, { method: 'POST', body: 'm3' })
  expect(await res.json()).toEqual({ seq: 4 })
  expect(await again.client.frame('message')).toMatchObject({ seq: 4, data: 'm3' })
  await again.client.close()
}, 240_000)

it('after wrangler dev restarts over the same storage, a resent publish id and Idempotency-Key are repeats', async () => {
  const room = uniqueRoom('dedupe')
  const listener = await connectJson(`${server.ws}/rooms/${room}`)
  const pub = await connectJson(`${server.ws}/rooms/${room}?client=survivor`)
  pub.client.send({ type: 'publish', data: 'once', id: 'p1' })
  expect(await pub.client.frame('ack')).toEqual({ type: 'ack', id: 'p1', seq: 1 })
  const first = await fetch(`${server.http}/rooms/${room}/messages`, { method: 'POST', body: 'http once', headers: { 'idempotency-key': 'h1' } })
  expect(await first.json()).toEqual({ seq: 2 })
  expect((await listener.client.frames('message', 2)).map((f) => f.seq)).toEqual([1, 2])
  await Promise.all([listener.client.close(), pub.client.close()])

  await server.stop()
  server = await startWrangler(ENV, dir)

  const after = await connectJson(`${server.ws}/rooms/${room}?since=2&epoch=${listener.welcome.epoch}`)
  const again = await connectJson(`${server.ws}/rooms/${room}?client=survivor`)
  again.client.send({ type: 'publish', data: 'once', id: 'p1' })
  expect(await again.client.frame('ack')).toEqual({ type: 'ack', id: 'p1', seq: 1, duplicate: true })
  const repeat = await fetch(`${server.http}/rooms/${room}/messages`, { method: 'POST', body: 'http once', headers: { 'idempotency-key': 'h1' } })
  expect(repeat.status).toBe(202)
  expect(await repeat.json()).toEqual({ seq: 2, duplicate: true })
  again.client.send({ type: 'publish', data: 'new', id: 'p2' })
  expect(await again.client.frame('ack')).toEqual({ type: 'ack', id: 'p2', seq: 3 })
  // The member that resumed after the restart got only the new one.
  expect((await after.client.frames('message', 1)).map((f) => [f.seq, f.data])).toEqual([[3, 'new']])
  const rest = (await after.client.drain()).map((r) => JSON.parse(r.data as string).type)
  expect(rest.filter((t) => t !== 'presence')).toEqual([])
  await Promise.all([after.client.close(), again.client.close()])
}, 240_000)
