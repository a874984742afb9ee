/**
 * The admin dashboard in real headless Chromium against a real Node server:
 * the page loads without a token and asks for ADMIN_TOKEN, refuses a wrong
 * one, keeps the right one for the tab (sessionStorage), and once traffic
 * flows shows it live: the counts, the busiest room by name, points on the
 * charts. Nothing it loads comes from another host. The picture in
 * docs/admin.md is its screenshot (UPDATE_SCREENSHOT=1 writes docs/admin.png).
 */
import { existsSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { chromium } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startNode } from '../client/harness.ts'
import type { TestClient } from '../support/client.ts'
import { connect, connectJson, refusedStatus, sleep } from '../support/client.ts'
import type { ServerHandle } from '../support/server.ts'

const CHROMIUM = '/usr/bin/chromium'
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
]
const ADMIN_TOKEN = 'dashboard-admin-token-0123456789'
const DESKTOP = { width: 1200, height: 820 }

describe('admin dashboard in Chromium', () => {
  let browser: Browser
  let server: ServerHandle
  const clients: TestClient[] = []
  let traffic: ReturnType<typeof setInterval> | undefined

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does this)`)
    ;[browser, server] = await Promise.all([
      chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 60_000 }),
      startNode({ ADMIN_TOKEN, PRESENCE_INTERVAL_MS: '50', RATE_LIMIT: '1000', RATE_BURST: '1000' }),
    ])
  })
  afterAll(async () => {
    clearInterval(traffic)
    await Promise.all(clients.map((c) => c.close().catch(() => {})))
    await browser?.close()
    await server?.stop()
  })

  /** A fresh context and page at /admin, recording errors and every request it makes. */
  async function open(): Promise<{ page: Page; errors: string[]; requests: string[] }> {
    const context = await browser.newContext({ viewport: DESKTOP })
    const page = await context.newPage()
    const errors: string[] = []
    const requests: string[] = []
    page.on('pageerror', (e) => errors.push(String(e)))
    page.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())))
    page.on('request', (r) => requests.push(r.url()))
    await page.goto(`${server.http}/admin`)
    return { page, errors, requests }
  }

  it('asks for the token, refuses a wrong one, then shows live traffic: counts, the busiest rooms, the charts', async () => {
    const { page, errors, requests } = await open()
    await page.waitForSelector('#login:not([hidden])')
    expect(await page.isHidden('#main')).toBe(true)

    await page.fill('#token', 'not-the-token-0123456789')
    await page.press('#token', 'Enter')
    await page.waitForFunction(() => document.getElementById('login-error')?.textContent !== '')
    expect(await page.textContent('#login-error')).toMatch(/not accepted/)
    expect(await page.evaluate(() => sessionStorage.getItem('roomcast.adminToken'))).toBeNull()

    // Traffic: 6 members in one room, 2 in another, and a steady stream of messages into the first.
    const busy = `dash-busy-${Math.random().toString(36).slice(2, 6)}`
    const calm = `dash-calm-${Math.random().toString(36).slice(2, 6)}`
    for (let i = 0; i < 5; i++) clients.push((await connectJson(`${server.ws}/rooms/${busy}`)).client)
    clients.push(await connect(`${server.ws}/rooms/${busy}`))
    for (let i = 0; i < 2; i++) clients.push((await connectJson(`${server.ws}/rooms/${calm}`)).client)
    const publisher = clients[0] as TestClient
    let n = 0
    traffic = setInterval(() => {
      for (let i = 0; i < 4; i++) publisher.send({ type: 'publish', data: { n: n++ } })
      for (const c of clients) c.inbox.splice(0)
    }, 50)
    // And one refused upgrade, for the refusals table once it is counted.
    expect(await refusedStatus(`${server.ws}/rooms/not%20a%20room`)).toBe(400)

    await page.fill('#token', ADMIN_TOKEN)
    await page.press('#token', 'Enter')
    await page.waitForSelector('#main:not([hidden])')
    expect(await page.evaluate(() => sessionStorage.getItem('roomcast.adminToken'))).toBe(ADMIN_TOKEN)

    // Live: the busy room tops the table, the counts are the members', the charts have points and a line.
    await page.waitForFunction((room) => document.querySelector('#busiest tbody tr td')?.textContent === room, busy, { timeout: 20_000 })
    await page.waitForFunction(() => document.getElementById('connections')?.textContent === '8', undefined, { timeout: 20_000 })
    expect(await page.textContent('#rooms')).toBe('2')
    await page.waitForFunction(() => Number(document.getElementById('mps')?.textContent?.replace(/,/g, '')) > 10, undefined, { timeout: 20_000 })
    await page.waitForFunction(() => Number(document.getElementById('chart-messages')?.getAttribute('data-points')) >= 3, undefined, { timeout: 20_000 })
    const row = await page.$$eval('#busiest tbody tr', (trs) => trs.map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent)))
    expect(row[0]?.[0]).toBe(busy)
    expect(row[0]?.[1]).toBe('6')
    expect(row[1]?.slice(0, 2)).toEqual([calm, '2'])
    const line = await page.getAttribute('#chart-messages path.line', 'd')
    expect(line).toMatch(/^M[\d.]+ [\d.]+( L[\d.]+ [\d.]+){2,}/)
    // The line rises off the floor (y = 100) somewhere: messages per second above zero.
    const ys = [...(line ?? '').matchAll(/[ML]([\d.]+) ([\d.]+)/g)].map((m) => Number(m[2]))
    expect(Math.min(...ys)).toBeLessThan(100)
    expect(await page.textContent('#backend')).toBe('memory')
    expect(await page.getAttribute('#backend', 'data-ready')).toBe('true')

    // It keeps updating: the time stamp moves.
    const before = await page.textContent('#updated')
    await page.waitForFunction((t) => document.getElementById('updated')?.textContent !== t, before, { timeout: 10_000 })

    if (process.env.UPDATE_SCREENSHOT === '1') await picture(page, clients, publisher, () => n++, busy)
    await screenshot(page)

    // The token lasts for the tab: a reload goes straight to the figures; "Forget token" asks again.
    await page.reload()
    await page.waitForSelector('#main:not([hidden])')
    await page.click('#forget')
    await page.waitForSelector('#login:not([hidden])')
    expect(await page.evaluate(() => sessionStorage.getItem('roomcast.adminToken'))).toBeNull()

    // The wrong token's 401 is the one failed load Chromium reports; nothing else went wrong (no CSP violation either).
    expect(errors.filter((e) => !/status of 401/.test(e))).toEqual([])
    expect(errors.filter((e) => /status of 401/.test(e))).toHaveLength(1)
    const origin = new URL(server.http).origin
    expect(requests.filter((u) => new URL(u).origin !== origin)).toEqual([])
    await page.context().close()
  }, 90_000)
})

/**
 * For the picture only: half a minute of traffic that rises and falls while members come and go, so the
 * charts have a shape. (The test above does not need it, and does not wait for it.)
 */
async function picture(page: Page, clients: TestClient[], publisher: TestClient, next: () => number, room: string): Promise<void> {
  const url = new URL(page.url())
  const ws = `ws://${url.host}/rooms/${room}`
  for (let s = 0; s < 30; s++) {
    const burst = Math.round(3 + 3 * Math.sin(s / 4)) * 4
    for (let i = 0; i < burst; i++) publisher.send({ type: 'publish', data: { n: next() } })
    if (s % 5 === 0 && s < 25) clients.push((await connectJson(ws)).client)
    await sleep(1000)
  }
}

/** The picture in docs/admin.md: written to docs/admin.png with UPDATE_SCREENSHOT=1, else to the temp dir. */
async function screenshot(page: Page): Promise<void> {
  const path = process.env.UPDATE_SCREENSHOT === '1' ? new URL('../../docs/admin.png', import.meta.url).pathname : join(tmpdir(), 'roomcast-admin.png')
  await page.setViewportSize({ width: DESKTOP.width, height: 500 })
  const png = await page.screenshot({ fullPage: true })
  expect(png.subarray(1, 4).toString()).toBe('PNG')
  expect(png.length).toBeGreaterThan(5000)
  writeFileSync(path, png)
}
