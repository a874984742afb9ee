/**
 * The chat page served by Deno (`deno task start`), Bun (`bun run adapters/bun/server.ts`) and Cloudflare
 * (`wrangler dev` on local workerd), in real headless Chromium: two pages chat through each. Fails (does
 * not skip) when /usr/bin/chromium is missing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { uniqueRoom } from '../support/client.ts'
import type { ServerHandle } from '../support/server.ts'
import { spawnServer } from '../support/server.ts'
import { removeDir, startWrangler, tempDir } from '../support/wrangler.ts'
import { browserFixture, counted, say, shown } from './harness.ts'

const ENV = { PRESENCE_INTERVAL_MS: '20' }
const dirs: string[] = []
afterAll(() => dirs.forEach(removeDir))

const RUNTIMES: Record<string, () => Promise<ServerHandle>> = {
  deno: () => spawnServer({ cmd: 'node_modules/.bin/deno', args: ['task', 'start'], env: ENV, timeoutMs: 60_000 }),
  bun: () => spawnServer({ cmd: 'node_modules/.bin/bun', args: ['run', 'adapters/bun/server.ts'], env: ENV, timeoutMs: 60_000 }),
  cloudflare: () => {
    const dir = tempDir('roomcast-cf-browser-')
    dirs.push(dir)
    return startWrangler(ENV, dir)
  },
}

describe.each(Object.entries(RUNTIMES))('chat page on %s in Chromium', (runtime, start) => {
  const browser = browserFixture()
  let server: ServerHandle

  beforeAll(async () => {
    server = await start()
  }, 120_000)
  afterAll(async () => {
    await server?.stop()
  })

  it('carries a message typed in one page to the other, both ways', async () => {
    const room = uniqueRoom()
    const alice = await browser.chat(server.http, room, 'alice')
    const bob = await browser.chat(server.http, room, 'bob')
    for (const t of [alice, bob]) await counted(t.page, '2 online')
    await say(alice.page, `hello from alice on ${runtime}`)
    await shown(bob.page, `hello from alice on ${runtime}`)
    await say(bob.page, 'hi alice')
    await shown(alice.page, 'hi alice')
    const from = await bob.page.$$eval('#log li.msg b', (bs) => bs.map((b) => b.textContent))
    expect(from).toEqual(['alice', 'bob'])
    // The fixture checks after the test that neither page threw.
  }, 90_000)
})
