/**
 * The chat page in real headless Chromium (Debian's `chromium`, driven by
 * playwright-core) against real Node server processes: two pages chat, HTML
 * from users stays text, both survive a server restart without showing a
 * message twice, and the classic `ws` example page chats with the new one.
 * Fails (does not skip) when /usr/bin/chromium is missing.
 */
import { readFileSync, writeFileSync } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mintToken } from '../../src/index.ts'
import { startNode } from '../client/harness.ts'
import { uniqueRoom } from '../support/client.ts'
import { at } from '../support/present.ts'
import type { ServerHandle } from '../support/server.ts'
import { startProxy } from '../support/tcp-proxy.ts'
import { browserFixture, counted, lines, online, say, shown } from './harness.ts'

const ENV = { PRESENCE_INTERVAL_MS: '20' }
const SECRET = 'browser-secret-0123456789-abcdefghijklmn'

describe('chat page in Chromium', () => {
  const { open, chat } = browserFixture()
  let server: ServerHandle

  beforeAll(async () => {
    server = await startNode(ENV)
  })
  afterAll(async () => {
    await server?.stop()
  })

  it('shows a message typed in one page in the other, with the sender name and time, and the member count', async () => {
    const room = uniqueRoom()
    const alice = await chat(server.http, room, 'alice')
    const bob = await chat(server.http, room, 'bob')
    for (const t of [alice, bob]) await counted(t.page, '2 online')
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
    // Had the payload been parsed, its <img> would be in #log (an alert cannot remove it), and its failed load
    // would have opened the dialog by the time a later message arrives.
    await say(bob.page, 'after the payload')
    await shown(alice.page, 'after the payload')
    await shown(bob.page, 'after the payload')
    for (const t of [alice, bob]) {
      expect(await t.page.$$eval('#log img, #log b b', (els) => els.length)).toBe(0)
      expect((await lines(t.page)).map((l) => [l.from, l.text])).toEqual([
        ['<b>alice</b>', payload],
        ['bob', 'after the payload'],
      ])
    }
    // afterEach checks that no dialog opened on either page.
  })

  it('reconnects both pages after the server restarts, shows the count as stale meanwhile, and shows a message sent during the restart once', async () => {
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

      await counted(bob.page, '2 online')
      expect(await first.stop()).toBe(0)
      for (const t of [alice, bob]) await t.page.waitForSelector('#state[data-state="reconnecting"]')
      // While nobody can know, the count is what it was when last heard, marked as such: greyed, with the time.
      for (const t of [alice, bob]) {
        const count = await t.page.$eval('#count', (el) => ({
          text: el.textContent,
          stale: (el as HTMLElement).dataset.stale !== undefined,
          opacity: Number(getComputedStyle(el).opacity),
        }))
        expect(count.text).toMatch(/^2 online as of \d{1,2}[:.]\d{2}/)
        expect(count.stale).toBe(true)
        expect(count.opacity).toBeLessThan(0.6)
      }
      await say(alice.page, 'sent during the restart')
      expect((await lines(alice.page)).at(-1)).toMatchObject({ text: 'sent during the restart', status: 'queued' })

      second = await startNode(ENV, first.port)
      for (const t of [alice, bob]) await online(t.page)
      await shown(bob.page, 'sent during the restart')
      await shown(alice.page, 'sent during the restart')
      await say(bob.page, 'welcome back')
      await shown(alice.page, 'welcome back')
      // A duplicate would come in the replay, before any live message: one live message each way proves none is left.
      await say(alice.page, 'good to be back')
      await shown(bob.page, 'good to be back')
      await shown(alice.page, 'good to be back')

      const expected = [
        ['alice', 'before the restart'],
        ['bob', 'see you on the other side'],
        ['alice', 'sent during the restart'],
        ['bob', 'welcome back'],
        ['alice', 'good to be back'],
      ]
      for (const t of [alice, bob]) {
        expect((await lines(t.page)).map((l) => [l.from, l.text])).toEqual(expected)
        expect(await t.page.textContent('#log')).toContain('The server restarted')
      }
      await counted(bob.page, '2 online')
      await screenshot(bob.page)
    } finally {
      await second?.stop()
      await first.stop()
    }
  })

  it('says a room name is bad instead of trying to connect', async () => {
    const tab = await open(`${server.http}/?room=${encodeURIComponent('bad room!')}`)
    await tab.page.waitForSelector('#problem:not([hidden])')
    expect(await tab.page.textContent('#problem-text')).toBe(
      '“bad room!” is not a room name: room names are 1 to 64 of A-Z a-z 0-9 _ . - (for example ?room=bad-room).',
    )
    expect(await tab.page.getAttribute('#state', 'data-state')).toBe('closed')
    expect(await tab.page.textContent('#room')).toBe('#bad room!')
    expect(await tab.page.isDisabled('#text')).toBe(true)
    expect(tab.sockets).toEqual([])
    // The fixture checks that nothing threw.
  })

  it('says when the server needs a token, connects with one typed in, and takes one from ?token=', async () => {
    const secured = await startNode({ ...ENV, AUTH_SECRET: SECRET })
    try {
      const room = uniqueRoom()
      const tab = await open(`${secured.http}/?room=${room}`)
      const { page } = tab
      await page.waitForSelector('#token-form:not([hidden])')
      expect(await page.textContent('#problem-text')).toBe(`This server needs a token to join #${room}.`)
      expect(await page.textContent('#problem-hint')).toContain('?token=')
      expect(await page.getAttribute('#state', 'data-state')).toBe('closed')
      // It stopped at the refusal: one attempt per token, below.
      expect(tab.sockets).toHaveLength(1)

      await page.fill('#token', await mintToken(SECRET, { rooms: ['elsewhere'], ttlSeconds: 600 }))
      await page.press('#token', 'Enter')
      await page.waitForFunction(() => document.getElementById('problem-text')?.textContent?.includes('403'))
      expect(await page.textContent('#problem-text')).toBe(`This token does not let you into #${room} (403 forbidden).`)
      expect(tab.sockets).toHaveLength(2)

      await page.fill('#token', await mintToken(SECRET, { rooms: [room], pub: true, ttlSeconds: 600 }))
      await page.press('#token', 'Enter')
      await online(page)
      expect(await page.isHidden('#problem')).toBe(true)
      expect(tab.sockets).toHaveLength(3)
      await say(page, 'let in')
      await shown(page, 'let in')

      const viaUrl = await open(`${secured.http}/?room=${room}&token=${await mintToken(SECRET, { rooms: [room], ttlSeconds: 600 })}`)
      await online(viaUrl.page)
      await shown(viaUrl.page, 'let in') // the history, for a reader
      expect(await viaUrl.page.isHidden('#problem')).toBe(true)
    } finally {
      await secured.stop()
    }
  })

  it('delivers a message the network swallowed, and shows one whose ack was lost once: confirmed, on both pages', async () => {
    const room = uniqueRoom()
    const px = await startProxy(server.port)
    try {
      const alice = await chat(`http://127.0.0.1:${px.port}`, room, 'alice')
      const bob = await chat(server.http, room, 'bob')
      await say(alice.page, 'first')
      await shown(bob.page, 'first')
      // What alice sends goes nowhere, then the connection breaks: the client sends it again on the next one.
      px.cut('toServer')
      await say(alice.page, 'swallowed')
      await alice.page.waitForTimeout(300)
      px.drop()
      await shown(bob.page, 'swallowed')
      await shown(alice.page, 'swallowed')
      // The server takes her next message, but nothing it says reaches her, then the connection breaks:
      // the replay and the resend's ack both name the one message.
      px.cut('toClient')
      await say(alice.page, 'ack lost')
      await shown(bob.page, 'ack lost')
      px.drop()
      await shown(alice.page, 'ack lost')
      await say(bob.page, 'after')
      // A duplicate on either page would have arrived before bob's later message.
      await shown(alice.page, 'after')
      await shown(bob.page, 'after')
      const expected = [
        ['alice', 'first', null],
        ['alice', 'swallowed', null],
        ['alice', 'ack lost', null],
        ['bob', 'after', null],
      ]
      for (const t of [alice, bob]) expect((await lines(t.page)).map((l) => [l.from, l.text, l.status])).toEqual(expected)
    } finally {
      await px.close()
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
