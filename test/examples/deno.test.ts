/** examples/hono-deno, run from the repository (deno.json maps `roomcast/deno` to the source): the embedding scenario. */
import { afterAll, beforeAll, it } from 'vitest'
import type { ServerHandle } from '../support/server.ts'
import { spawnServer } from '../support/server.ts'
import { embeddingScenario } from './scenario.ts'

let server: ServerHandle
beforeAll(async () => {
  server = await spawnServer({ cmd: 'node_modules/.bin/deno', args: ['run', '--allow-net', '--allow-env', 'examples/hono-deno/server.mjs'], timeoutMs: 60_000 })
}, 90_000)
afterAll(async () => {
  await server?.stop()
})

it('the Hono app on Deno.serve with roomcast at /live: its routes, login, the hooks, the chat page', () => embeddingScenario(server.http), 60_000)
