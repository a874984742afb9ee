/** Upgrade requests no WebSocket client would make, written by hand: each gets the usual JSON error, never a room. */
import { expect, it } from 'vitest'
import { sleep, uniqueRoom, waitForConnections } from '../support/client.ts'
import { handshake, rawRequest, readFrames, upgradeHead } from '../support/raw-socket.ts'
import type { RawResponse } from '../support/raw-socket.ts'
import type { SuiteContext } from './suite.ts'

export function handshakeScenarios(ctx: SuiteContext): void {
  const port = () => ctx.server.port

  /** The response is roomcast's refusal: the status, `{"error":"bad_request",...}` and X-Roomcast-Error. */
  function expectRefused(res: RawResponse, status: number, what: string): void {
    expect(res.status, what).toBe(status)
    expect(res.headers['x-roomcast-error'], what).toBe('bad_request')
    const body = JSON.parse(res.body)
    expect(body.error, what).toBe('bad_request')
    expect(body.message.length, what).toBeGreaterThan(0)
  }

  it('refuses an upgrade with a Host that names no host, an upgrade without Connection: Upgrade, or without a valid key: 400, no member', async () => {
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
  })

  it('refuses a WebSocket version other than 13 with 426 and Sec-WebSocket-Version: 13', async () => {
    const res = await rawRequest(port(), upgradeHead(`/rooms/${uniqueRoom()}`, port(), { 'Sec-WebSocket-Version': '8' }))
    expectRefused(res, 426, 'version 8')
    expect(res.headers['sec-websocket-version']).toBe('13')
  })

  it('accepts an absolute-form target (RFC 9112 3.2.2) and joins the room its path names', async () => {
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
}
