/** Upgrade requests no WebSocket client would make, written by hand: each gets the usual JSON error, never a room. */
import { expect, it } from 'vitest'
import { sleep, uniqueRoom, waitForConnections } from '../support/client.ts'
import type { RawResponse } from '../support/raw-socket.ts'
import { handshake, rawRequest, readFrames, upgradeHead } from '../support/raw-socket.ts'
import type { SuiteContext } from './suite.ts'

export function handshakeScenarios(ctx: SuiteContext): void {
  const port = () => ctx.server.port
  const reachApp = ctx.target.caps.oddRequestsReachApp ?? true

  /** The response is roomcast's refusal: the status, `{"error":<code>,...}` and X-Roomcast-Error. */
  function expectRefused(res: RawResponse, status: number, what: string, code = 'bad_request'): void {
    expect(res.status, what).toBe(status)
    expect(res.headers['x-roomcast-error'], what).toBe(code)
    const body = JSON.parse(res.body)
    expect(body.error, what).toBe(code)
    expect(body.message.length, what).toBeGreaterThan(0)
  }

  it.runIf(reachApp)(
    'refuses an upgrade with a Host that names no host, an upgrade without Connection: Upgrade, or without a valid key: 400, no member',
    async () => {
      const room = uniqueRoom()
      const cases: [string, Record<string, string | null>][] = [
        ['Host: a b', { Host: 'a b' }],
        ['Host: a/b', { Host: 'a/b' }],
        ['no Connection', { Connection: null }],
        ['Connection: keep-alive', { Connection: 'keep-alive' }],
        ['no key', { 'Sec-WebSocket-Key': null }],
        ['short key', { 'Sec-WebSocket-Key': 'c2hvcnQ=' }],
      ]
      for (const [what, headers] of cases) expectRefused(await rawRequest(port(), upgradeHead(`/rooms/${room}`, port(), headers)), 400, what)
      expect(await (await fetch(`${ctx.server.http}/rooms/${room}`)).json()).toEqual({ room, connections: 0, seq: 0 })
    },
  )

  it.runIf(reachApp)('refuses a WebSocket version other than 13 with 426 and Sec-WebSocket-Version: 13', async () => {
    const res = await rawRequest(port(), upgradeHead(`/rooms/${uniqueRoom()}`, port(), { 'Sec-WebSocket-Version': '8' }))
    expectRefused(res, 426, 'version 8', 'unsupported_version')
    expect(res.headers['sec-websocket-version']).toBe('13')
  })

  it.runIf(reachApp)('accepts an absolute-form target (RFC 9112 3.2.2) and joins the room its path names', async () => {
    const room = uniqueRoom()
    const socket = await handshake(port(), `${ctx.server.http}/rooms/${room}`)
    const texts: string[] = []
    readFrames(socket, (f) => void (f.opcode === 0x1 && texts.push(f.payload.toString())))
    expect(await waitForConnections(ctx.server.http, room, 1)).toBe(1)
    await fetch(`${ctx.server.http}/rooms/${room}/messages`, { method: 'POST', body: 'after the absolute-form upgrade' })
    const deadline = Date.now() + 5000
    while (texts.length === 0 && Date.now() < deadline) await sleep(20)
    expect(texts).toEqual(['after the absolute-form upgrade'])
    socket.destroy()
  })

  // Where the platform answers odd requests itself, what must still hold: none of them is upgraded, and no
  // member stays. (wrangler's dev proxy makes its own, valid handshake to workerd before it refuses the client,
  // so the room may see a member for a moment.)
  it.runIf(!reachApp)('upgrades none of the odd requests the platform answers itself, and no member stays', async () => {
    const room = uniqueRoom()
    const cases: [string, string][] = [
      ['Host: a b', upgradeHead(`/rooms/${room}`, port(), { Host: 'a b' })],
      ['no key', upgradeHead(`/rooms/${room}`, port(), { 'Sec-WebSocket-Key': null })],
      ['version 8', upgradeHead(`/rooms/${room}`, port(), { 'Sec-WebSocket-Version': '8' })],
      ['absolute-form', upgradeHead(`${ctx.server.http}/rooms/${room}`, port())],
    ]
    for (const [what, head] of cases) expect((await rawRequest(port(), head)).status, what).toBeGreaterThanOrEqual(400)
    expect(await waitForConnections(ctx.server.http, room, 0)).toBe(0)
  })
}
