/**
 * The chat page in real headless Chromium (Debian's `chromium`, driven by
 * playwright-core) against real Node server processes: two pages chat, HTML
 * from users stays text, both survive a server restart without showing a
 * message twice, and the classic `ws` example page chats with the new one.
 * Fails (does not skip) when /usr/bin/chromium is missing.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { chromium } from 'playwright-core'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { startNode } from '../client/harness.ts'
import { at } from '../support/present.ts'
import { uniqueRoom } from '../support/client.ts'
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
const ENV = { PRESENCE_INTERVAL_MS: '20' }
const PHONE = { width: 390, height: 640 }

/** One open page and what it did that it should not have. */
interface Tab {
  page: Page
  dialogs: string[]
  errors: string[]
  requests: string[]
}

/** A chat line as the page shows it. */
interface Line {
  from: string
  time: string
  text: string
  status: string | null
  classes: string
}

describe('chat page in Chromium', () => {
  let browser: Browser
  let server: ServerHandle
  const tabs: Tab[] = []

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does this)`)
    // launch() gives the browser a fresh temporary user-data-dir and removes it on close.
    ;[browser, server] = await Promise.all([chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 60_000 }), startNode(ENV)])
  })
  afterAll(async () => {
    await browser?.close()
    await server?.stop()
  })
  afterEach(async () => {
    for (const t of tabs.splice(0)) {
      // Nothing a page did may have opened a dialog or thrown.
      expect(t.dialogs, 'dialogs').toEqual([])
      expect(t.errors, 'page errors').toEqual([])
      await t.page.context().close()
    }
  })

  /** A fresh browser context (its own storage), one page at `url`. */
  async function open(url: string, viewport = PHONE): Promise<Tab> {
    const context = await browser.newContext({ viewport })
    const page = await context.newPage()
    const tab: Tab = { page, dialogs: [], errors: [], requests: [] }
    page.on('dialog', (d) => {
      tab.dialogs.push(d.message())
      void d.dismiss()
    })
    page.on('pageerror', (e) => tab.errors.push(String(e)))
    page.on('request', (r) => tab.requests.push(r.url()))
    tabs.push(tab)
    await page.goto(url)
    return tab
  }

  /** Open the chat page as `name` and wait until it is online. */
  async function chat(base: string, room: string | undefined, name: string): Promise<Tab> {
    const tab = await open(room === undefined ? `${base}/` : `${base}/?room=${room}`)
    await online(tab.page)
    await tab.page.fill('#name', name)
    return tab
  }

  const online = (page: Page) => page.waitForSelector('#state[data-state="open"]', { timeout: 30_000 })

  async function say(page: Page, text: string): Promise<void> {
    await page.fill('#text', text)
    await page.press('#text', 'Enter')
  }

  const lines = (page: Page): Promise<Line[]> =>
    page.$$eval('#log li.msg', (items) =>
      items.map((li) => ({
        from: li.querySelector('b')?.textContent ?? '',
        time: li.querySelector('time')?.textContent ?? '',
        text: li.querySelector('.text')?.textContent ?? '',
        status: li.querySelector('.status')?.textContent ?? null,
        classes: li.className,
      })),
    )

  /** Wait until a line with `text` is shown and no longer pending. */
  const shown = (page: Page, text: string) =>
    page.waitForFunction(
      (t) => [...document.querySelectorAll('#log li.msg:not(.pending)')].some((li) => li.querySelector('.text')?.textContent === t),
      text,
      { timeout: 30_000 },
    )

  it('shows a message typed in one page in the other, with the sender name and time, and the member count', async () => {
    const room = uniqueRoom()
    const alice = await chat(server.http, room, 'alice')
    const bob = await chat(server.http, room, 'bob')
    for (const t of [alice, bob]) await t.page.waitForFunction(() => document.getElementById('count')?.textContent === '2 online')
    expect(await alice.page.textContent('#room')).toBe(`#${room}`)

    await say(alice.page, 'hello bob')
    await shown(bob.page, 'hello bob')
    await shown(alice.page, 'hello bob') // acked
    const got = await lines(bob.page)
    expect(got).toHaveLength(1)
    expect(got[0]).toMatchObject({ from: 'alice', text: 'hello bob', status: null })
    expect(got[0]?.time).toMatch(/\d{1,2}[:.]\d{2}/)
    expect((await lines(alice.page))[0]).toMatchObject({ from: 'alice', text: 'hello bob', status: null, classes: 'msg mine' })

    // Everything came from the server itself, nothing from other hosts.
    for (const t of [alice, bob]) for (const url of t.requests) expect(url.startsWith(server.http + '/'), url).toBe(true)
    expect(alice.requests.map((u) => new URL(u).pathname).sort()).toEqual(['/', '/client/chat.js'])

    // Fits a phone: no sideways scrolling, the message box is on screen.
    const fit = await bob.page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      width: innerWidth,
      formBottom: document.getElementById('form')?.getBoundingClientRect().bottom,
      height: innerHeight,
    }))
    expect(fit.scroll).toBeLessThanOrEqual(fit.width)
    expect(fit.formBottom).toBeLessThanOrEqual(fit.height)
  })

  it('shows <img src=x onerror=alert(1)> as text and runs nothing', async () => {
    const room = uniqueRoom()
    const alice = await chat(server.http, room, '<b>alice</b>')
    const bob = await chat(server.http, room, 'bob')
    const payload = '<img src=x onerror=alert(1)>'
    await say(alice.page, payload)
    await shown(bob.page, payload)
    await shown(alice.page, payload)
    await bob.page.waitForTimeout(500) // time for an onerror to fire, were there an img
    for (const t of [alice, bob]) {
      expect(await t.page.$$eval('#log img, #log b b', (els) => els.length)).toBe(0)
      expect((await lines(t.page)).map((l) => [l.from, l.text])).toEqual([['<b>alice</b>', payload]])
    }
    // afterEach checks that no dialog opened on either page.
  })

  it('reconnects both pages after the server restarts, and shows a message sent during the restart once', async () => {
    const first = await startNode(ENV)
    let second: ServerHandle | undefined
    try {
      // This server is the test's own, so its default room is free (and reads well in the screenshot).
      const alice = await chat(first.http, undefined, 'alice')
      const bob = await chat(first.http, undefined, 'bob')
      await say(alice.page, 'before the restart')
      await shown(bob.page, 'before the restart')
      await say(bob.page, 'see you on the other side')
      await shown(alice.page, 'see you on the other side')

      expect(await first.stop()).toBe(0)
      for (const t of [alice, bob]) await t.page.waitForSelector('#state[data-state="reconnecting"]')
      await say(alice.page, 'sent during the restart')
      expect((await lines(alice.page)).at(-1)).toMatchObject({ text: 'sent during the restart', status: 'queued' })

      second = await startNode(ENV, first.port)
      for (const t of [alice, bob]) await online(t.page)
      await shown(bob.page, 'sent during the restart')
      await shown(alice.page, 'sent during the restart')
      await say(bob.page, 'welcome back')
      await shown(alice.page, 'welcome back')
      await bob.page.waitForTimeout(500) // a duplicate would show up now

      const expected = [
        ['alice', 'before the restart'],
        ['bob', 'see you on the other side'],
        ['alice', 'sent during the restart'],
        ['bob', 'welcome back'],
      ]
      for (const t of [alice, bob]) {
        expect((await lines(t.page)).map((l) => [l.from, l.text])).toEqual(expected)
        expect(await t.page.textContent('#log')).toContain('The server restarted')
      }
      await bob.page.waitForFunction(() => document.getElementById('count')?.textContent === '2 online')
      await screenshot(bob.page)
    } finally {
      await second?.stop()
      await first.stop()
    }
  })

  it('chats with the classic ws example page: its text appears on the new page, and the new page’s messages on it', async () => {
    const fixture = readFileSync(new URL('../fixtures/classic.html', import.meta.url), 'utf8')
    expect(fixture).toContain("new WebSocket('ws://localhost:3000')")
    const page = fixture.replaceAll('ws://localhost:3000', server.ws)
    // Served from its own origin, as the classic page would be.
    const host = http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(page))
    await new Promise<void>((r) => host.listen(0, '127.0.0.1', r))
    try {
      const classic = await open(`http://127.0.0.1:${(host.address() as AddressInfo).port}/`)
      const carol = await chat(server.http, undefined, 'carol') // `/` joins the default room, as the classic page does
      expect(await carol.page.textContent('#room')).toBe('#lobby')
      await classic.page.waitForFunction(() => document.querySelectorAll('#messages li').length === 0)

      await classic.page.waitForFunction('socket.readyState === WebSocket.OPEN', undefined, { timeout: 30_000 })
      await classic.page.fill('#input', 'hello from the classic page')
      await classic.page.press('#input', 'Enter')
      await shown(carol.page, 'hello from the classic page')
      expect((await lines(carol.page)).at(-1)).toMatchObject({ from: 'anonymous', text: 'hello from the classic page' })

      await say(carol.page, 'hi classic <b>page</b>')
      await classic.page.waitForFunction(() => document.querySelectorAll('#messages li').length === 2)
      const shownThere = await classic.page.$$eval('#messages li', (items) => items.map((li) => li.textContent ?? ''))
      expect(shownThere[0]).toBe('hello from the classic page') // its own text, echoed as in the ws example
      expect(JSON.parse(at(shownThere, 1))).toMatchObject({ name: 'carol', text: 'hi classic <b>page</b>' })
      expect(await classic.page.$$eval('#messages b', (els) => els.length)).toBe(0)
    } finally {
      await new Promise((r) => host.close(r))
    }
  })
})

/** The README's picture: written to docs/chat.png with UPDATE_SCREENSHOT=1, else to the temp dir. */
async function screenshot(page: Page): Promise<void> {
  const path = process.env.UPDATE_SCREENSHOT === '1' ? new URL('../../docs/chat.png', import.meta.url).pathname : join(tmpdir(), 'roomcast-chat.png')
  const png = await page.screenshot()
  expect(png.subarray(1, 4).toString()).toBe('PNG')
  expect(png.length).toBeGreaterThan(5000)
  writeFileSync(path, png)
}
