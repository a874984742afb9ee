/**
 * examples/worker under `wrangler dev` (the real wrangler and workerd), from the repository: tsconfig.json's
 * paths map `roomcast/cloudflare` to the source for wrangler's bundler. The embedding scenario, with the
 * Worker's own class (ChatRoom) under its own binding (CHAT).
 */
import { afterAll, beforeAll, it } from 'vitest'
import type { ServerHandle } from '../support/server.ts'
import { spawnServer } from '../support/server.ts'
import { WRANGLER, WRANGLER_ENV, removeDir, tempDir } from '../support/wrangler.ts'
import { embeddingScenario } from './scenario.ts'

const state = tempDir('roomcast-example-worker-')
let server: ServerHandle
beforeAll(async () => {
  server = await spawnServer({
    cmd: process.execPath,
    args: [WRANGLER, 'dev', '--config', 'examples/worker/wrangler.toml', '--ip', '127.0.0.1', '--port', '0', '--inspector-port', '0', '--persist-to', state],
    env: WRANGLER_ENV,
    timeoutMs: 90_000,
    ready: /Ready on https?:\/\/[^:\s]+:(\d+)/,
  })
}, 120_000)
afterAll(async () => {
  await server?.stop()
  removeDir(state)
})

it(
  'the Worker with its own routes and roomcast at /live: its routes, login, the hooks (authorize in the Worker, message in the room object), the chat page',
  () => embeddingScenario(server.http, { v2: false }),
  60_000,
)
