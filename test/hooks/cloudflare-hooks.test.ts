/**
 * Hooks where the room runs on Cloudflare: `joined` and `left` (with the reason) inside the room's Durable
 * Object, and the server-side API over the objects' RPC, under `wrangler dev` (test/hooks/worker/).
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { connectJson } from '../support/client.ts'
import type { ServerHandle } from '../support/server.ts'
import { spawnServer } from '../support/server.ts'
import { WRANGLER, WRANGLER_ENV, removeDir, tempDir } from '../support/wrangler.ts'

const state = tempDir('roomcast-cf-hooks-')
let server: ServerHandle
beforeAll(async () => {
  server = await spawnServer({
    cmd: process.execPath,
    args: [WRANGLER, 'dev', '--config', 'test/hooks/worker/wrangler.toml', '--ip', '127.0.0.1', '--port', '0', '--inspector-port', '0', '--persist-to', state],
    env: WRANGLER_ENV,
    timeoutMs: 90_000,
    ready: /Ready on https?:\/\/[^:\s]+:(\d+)/,
  })
}, 120_000)
afterAll(async () => {
  await server?.stop()
  removeDir(state)
})

it('runs joined and left in the room object with identity and reason; publish, stats and disconnect reach it by RPC', async () => {
  const { client: events } = await connectJson(`${server.ws}/rooms/events?mode=json`)
  const { client: alice } = await connectJson(`${server.ws}/rooms/r?mode=json&user=alice`)
  expect(await events.frame('message')).toMatchObject({ data: { event: 'joined', room: 'r', sub: 'alice', info: { team: 'blue' }, mode: 'json' } })

  const res = await fetch(`${server.http}/app/publish/r`, { method: 'POST', body: JSON.stringify({ hello: 1 }) })
  const { seq } = (await res.json()) as { seq: number }
  expect(await alice.frame('message')).toMatchObject({ seq, data: { hello: 1 }, from: 'server' })
  expect(await (await fetch(`${server.http}/app/stats/r`)).json()).toEqual({ room: 'r', connections: 1, seq })

  const kicked = await (await fetch(`${server.http}/app/disconnect/r?sub=alice`, { method: 'POST' })).json()
  expect(kicked).toEqual({ closed: 1 })
  expect(await alice.closed).toMatchObject({ code: 4002 })
  expect(await events.frame('message')).toMatchObject({ data: { event: 'left', room: 'r', sub: 'alice', reason: 'kicked' } })

  const { client: bob } = await connectJson(`${server.ws}/rooms/r?mode=json&user=bob`)
  expect(await events.frame('message')).toMatchObject({ data: { event: 'joined', sub: 'bob' } })
  await bob.close()
  expect(await events.frame('message')).toMatchObject({ data: { event: 'left', sub: 'bob', reason: 'closed' } })
  events.ws.terminate()
}, 60_000)
