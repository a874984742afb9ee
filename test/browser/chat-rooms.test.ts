/**
 * The many-rooms chat page (/chat/rooms, protocol v2) in real headless Chromium against a real Node server:
 * two users in two rooms over one connection each, unread counts, who is online per room, leaving a room.
 * With UPDATE_SCREENSHOT=1 it rewrites the screenshot in docs/chat-v2.png.
 */
import { writeFileSync } from 'node:fs'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mintToken } from '../../src/index.ts'
import { startNode } from '../client/harness.ts'
import { uniqueRoom } from '../support/client.ts'
import type { ServerHandle } from '../support/server.ts'
import { browserFixture } from './harness.ts'

const SECRET = 'browser-rooms-secret-0123456789-abcdefgh'
const WIDE = { width: 900, height: 520 }

const online = (page: Page) => page.waitForSelector('#state[data-state="open"]', { timeout: 30_000 })
const who = (page: Page) => page.$$eval('#who li', (items) => items.map((li) => li.textContent))
const unread = (page: Page, room: string) => page.$eval(`#rooms li[data-room="${room}"]`, (li) => li.querySelector('.unread')?.textContent ?? '0')
const texts = (page: Page) =>
  page.$$eval('#log li.msg', (items) => items.map((li) => `${li.querySelector('b')?.textContent}: ${li.querySelector('.text')?.textContent}`))
// Functions, not strings: the page's CSP forbids eval.
const whoCount = (page: Page, n: number) => page.waitForFunction((k) => document.querySelectorAll('#who li').length === k, n, { timeout: 15_000 })
const unreadIs = (page: Page, room: string, n: string) =>
  page.waitForFunction(([r, k]) => document.querySelector(`#rooms li[data-room="${r}"] .unread`)?.textContent === k, [room, n] as const, { timeout: 15_000 })
const showsText = (page: Page, text: string) =>
  page.waitForFunction((t) => [...document.querySelectorAll('#log .text')].some((e) => e.textContent === t), text, { timeout: 15_000 })

describe('many-rooms chat page in Chromium', () => {
  const { open } = browserFixture()
  let server: ServerHandle

  beforeAll(async () => {
    server = await startNode({ AUTH_SECRET: SECRET, PRESENCE_INTERVAL_MS: '20', PRESENCE_GRACE_MS: '300' })
  })
  afterAll(async () => {
    await server?.stop()
  })

  it('two users in two rooms over one connection each: messages per room, unread counts, who is online, leave', async () => {
    const [general, random] = [uniqueRoom('general'), uniqueRoom('random')]
    const token = (sub: string) => mintToken(SECRET, { sub, rooms: ['*'], pub: true, ttlSeconds: 600 })
    const url = async (sub: string) => `${server.http}/chat/rooms?rooms=${general},${random}&token=${await token(sub)}`
    const alice = await open(await url('alice'), WIDE)
    const bob = await open(await url('bob'), WIDE)
    for (const t of [alice, bob]) await online(t.page)
    // Both show the first room; each knows who is in it.
    for (const t of [alice, bob]) await whoCount(t.page, 2)
    expect(await who(alice.page)).toEqual(['alice', 'bob'])

    // Bob writes in the second room, which alice is not looking at: an unread count there.
    await bob.page.click(`#rooms li[data-room="${random}"]`)
    await bob.page.fill('#text', 'hi in random')
    await bob.page.press('#text', 'Enter')
    await unreadIs(alice.page, random, '1')
    expect(await unread(alice.page, general)).toBe('0')
    // And one in the first room, which alice sees at once.
    await bob.page.click(`#rooms li[data-room="${general}"]`)
    await bob.page.fill('#text', 'hello general')
    await bob.page.press('#text', 'Enter')
    await showsText(alice.page, 'hello general')
    expect(await texts(alice.page)).toEqual(['bob: hello general'])
    await alice.page.fill('#text', 'hi bob')
    await alice.page.press('#text', 'Enter')
    await showsText(bob.page, 'hi bob')
    expect(await texts(bob.page)).toEqual(['bob: hello general', 'alice: hi bob'])
    // The screenshot in the docs: the room list with an unread count, and who is online.
    const shot = await alice.page.screenshot()
    expect(shot.length).toBeGreaterThan(1000)
    if (process.env.UPDATE_SCREENSHOT === '1') writeFileSync('docs/chat-v2.png', shot)

    await alice.page.click(`#rooms li[data-room="${random}"]`)
    expect(await texts(alice.page)).toEqual(['bob: hi in random'])
    expect(await unread(alice.page, random)).toBe('0')
    await alice.page.click(`#rooms li[data-room="${general}"]`)

    // Bob leaves the second room: after the grace period alice sees only herself there.
    await bob.page.click(`#rooms li[data-room="${random}"] .leave`)
    await alice.page.click(`#rooms li[data-room="${random}"]`)
    await whoCount(alice.page, 1)
    expect(await who(alice.page)).toEqual(['alice'])

    // One WebSocket per page for both rooms.
    expect(alice.sockets).toHaveLength(1)
    expect(bob.sockets).toHaveLength(1)
  })
})
