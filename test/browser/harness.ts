/**
 * What the browser tests share: headless Chromium (Debian's `chromium`, driven by playwright-core) launched
 * once per file, pages that record what they must not do (dialogs, uncaught errors), cleanup after each
 * test, and the chat page's moves (open it online, type, wait for a line). Fails, never skips, when
 * /usr/bin/chromium is missing.
 */
import { existsSync } from 'node:fs'
import type { Browser, Page } from 'playwright-core'
import { chromium } from 'playwright-core'
import { afterAll, afterEach, beforeAll, expect } from 'vitest'

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

/** A phone-sized viewport, the page's hardest case. */
export const PHONE = { width: 390, height: 640 }

/** One open page and what it did that it should not have. */
export interface Tab {
  page: Page
  dialogs: string[]
  errors: string[]
  /** Every URL it requested (WebSockets not included: see `sockets`). */
  requests: string[]
  /** Every WebSocket it opened. */
  sockets: string[]
}

/** A chat line as the page shows it. */
export interface Line {
  from: string
  time: string
  text: string
  status: string | null
  classes: string
}

/** A browser for one test file. */
export interface BrowserFixture {
  /** A fresh browser context (its own storage) with one page at `url`; checked and closed after the test. */
  open(url: string, viewport?: { width: number; height: number }): Promise<Tab>
  /** Open the chat page of `base` (the default room when `room` is undefined), wait until online, type `name` as the name. */
  chat(base: string, room: string | undefined, name: string): Promise<Tab>
}

/** Register the hooks of a browser test file: launch Chromium before, and after each test check and close its pages. */
export function browserFixture(): BrowserFixture {
  let browser: Browser | undefined
  const tabs: Tab[] = []
  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does this)`)
    // launch() gives the browser a fresh temporary user-data-dir and removes it on close.
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 60_000 })
  })
  afterAll(async () => {
    await browser?.close()
  })
  afterEach(async () => {
    for (const t of tabs.splice(0)) {
      // Nothing a page did may have opened a dialog or thrown.
      expect(t.dialogs, 'dialogs').toEqual([])
      expect(t.errors, 'page errors').toEqual([])
      await t.page.context().close()
    }
  })
  const fixture: BrowserFixture = {
    async open(url, viewport = PHONE) {
      if (browser === undefined) throw new Error('the browser is not launched yet')
      const page = await (await browser.newContext({ viewport })).newPage()
      const tab: Tab = { page, dialogs: [], errors: [], requests: [], sockets: [] }
      page.on('dialog', (d) => {
        tab.dialogs.push(d.message())
        void d.dismiss()
      })
      page.on('pageerror', (e) => tab.errors.push(String(e)))
      page.on('request', (r) => tab.requests.push(r.url()))
      page.on('websocket', (ws) => tab.sockets.push(ws.url()))
      tabs.push(tab)
      await page.goto(url)
      return tab
    },
    async chat(base, room, name) {
      const tab = await fixture.open(room === undefined ? `${base}/` : `${base}/?room=${room}`)
      await online(tab.page)
      await tab.page.fill('#name', name)
      return tab
    },
  }
  return fixture
}

/** Wait until the chat page says it is online. */
export const online = (page: Page) => page.waitForSelector('#state[data-state="open"]', { timeout: 30_000 })

/** Type `text` into the chat page's message box and press Enter. */
export async function say(page: Page, text: string): Promise<void> {
  await page.fill('#text', text)
  await page.press('#text', 'Enter')
}

/** The chat lines the page shows, in order. */
export const lines = (page: Page): Promise<Line[]> =>
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
export const shown = (page: Page, text: string) =>
  page.waitForFunction(
    (t) => [...document.querySelectorAll('#log li.msg:not(.pending)')].some((li) => li.querySelector('.text')?.textContent === t),
    text,
    { timeout: 30_000 },
  )

/** Wait until the member count reads exactly `text` (and is not marked stale). */
export const counted = (page: Page, text: string) =>
  page.waitForFunction(
    (t) => {
      const el = document.getElementById('count')
      return el?.textContent === t && el.dataset.stale === undefined
    },
    text,
    { timeout: 30_000 },
  )
