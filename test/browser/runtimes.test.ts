/**
 * The chat page served by Deno (`deno task start`), Bun (`bun run adapters/bun/server.ts`) and Cloudflare
 * (`wrangler dev` on local workerd), in real headless Chromium: two pages chat through each. Fails (does
 * not skip) when /usr/bin/chromium is missing.
 */
import { existsSync } from 'node:fs'
import type { Browser, Page } from 'playwright-core'
import { chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { uniqueRoom } from '../support/client.ts'
import { spawnServer } from '../support/server.ts'
import type { ServerHandle } from '../support/server.ts'
import { removeDir, startWrangler, tempDir } from '../support/wrangler.ts'

const CHROMIUM = '/usr/bin/chromium'
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-quic', '--no-first-run']

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
  let browser: Browser
  let server: ServerHandle

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does this)`)
    ;[browser, server] = await Promise.all([chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 60_000 }), start()])
  }, 120_000)
  afterAll(async () => {
    await browser?.close()
    await server?.stop()
  })

  /** A page of its own (fresh storage) on the chat page of `room`, online, named `name`; page errors collected. */
  async function chat(room: string, name: string, errors: string[]): Promise<Page> {
    const page = await (await browser.newContext()).newPage()
    page.on('pageerror', (e) => errors.push(String(e)))
    await page.goto(`${server.http}/?room=${room}`)
    await page.waitForSelector('#state[data-state="open"]', { timeout: 30_000 })
    await page.fill('#name', name)
    return page
  }

  const shown = (page: Page, text: string) =>
    page.waitForFunction(
      (t) => [...document.querySelectorAll('#log li.msg:not(.pending)')].some((li) => li.querySelector('.text')?.textContent === t),
      text,
      { timeout: 30_000 },
    )

  it('carries a message typed in one page to the other, both ways', async () => {
    const room = uniqueRoom()
    const errors: string[] = []
    const alice = await chat(room, 'alice', errors)
    const bob = await chat(room, 'bob', errors)
    for (const p of [alice, bob]) await p.waitForFunction(() => document.getElementById('count')?.textContent === '2 online')
    await alice.fill('#text', `hello from alice on ${runtime}`)
    await alice.press('#text', 'Enter')
    await shown(bob, `hello from alice on ${runtime}`)
    await bob.fill('#text', 'hi alice')
    await bob.press('#text', 'Enter')
    await shown(alice, 'hi alice')
    const from = await bob.$$eval('#log li.msg b', (bs) => bs.map((b) => b.textContent))
    expect(from).toEqual(['alice', 'bob'])
    expect(errors).toEqual([])
  }, 90_000)
})
