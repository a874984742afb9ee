/**
 * The ws internals Node's fast fan-out reads (adapters/node/sender.ts): a real ws socket has each of them,
 * with the type the fast path expects, so a ws update that renames one fails here; and without one, the
 * sender warns once and sends through ws.send.
 */
import { readFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, it, vi } from 'vitest'
import * as wsModule from 'ws'
import { WebSocket, WebSocketServer } from 'ws'
import { at } from '../support/present.ts'

const servers: WebSocketServer[] = []
const clients: WebSocket[] = []

/** A ws server (as adapters/node/index.ts sets it up) and `n` clients; the server-side sockets and what each client got. */
async function sockets(n: number): Promise<{ server: WebSocket[]; got: string[][] }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: false })
  servers.push(wss)
  await new Promise((r) => wss.once('listening', r))
  const server: WebSocket[] = []
  wss.on('connection', (ws) => server.push(ws))
  const got: string[][] = []
  for (let i = 0; i < n; i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, { perMessageDeflate: false })
    clients.push(ws)
    const inbox: string[] = []
    got.push(inbox)
    ws.on('message', (data: Buffer) => inbox.push(data.toString()))
    await new Promise((r) => ws.once('open', r))
  }
  while (server.length < n) await new Promise((r) => setTimeout(r, 5))
  return { server, got }
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.terminate()
  for (const s of servers.splice(0)) await new Promise((r) => s.close(r))
  vi.restoreAllMocks()
  vi.resetModules()
})

describe('ws internals of the fast path', () => {
  it('a real ws server socket has every internal the fast path reads, with its type', async () => {
    const { wsInternalsProblem } = await import('../../adapters/node/sender.ts')
    const { server } = await sockets(1)
    expect(wsInternalsProblem(at(server, 0))).toBeNull()
    // The same, spelled out: what a ws update must not rename or retype.
    const w = at(server, 0) as unknown as Record<string, any>
    expect(typeof w._socket.cork).toBe('function')
    expect(typeof w._extensions).toBe('object')
    expect(typeof w._sender._state).toBe('number')
    expect(Array.isArray(w._sender._queue)).toBe(true)
    expect(typeof w._sender._firstFragment).toBe('boolean')
    expect(typeof (wsModule as unknown as { Sender: { frame: unknown } }).Sender.frame).toBe('function')
  })

  it('ws is pinned to one exact version, the one installed', () => {
    const pkg = JSON.parse(readFileSync('package.json', 'utf8'))
    const lock = JSON.parse(readFileSync('package-lock.json', 'utf8'))
    const installed = JSON.parse(readFileSync('node_modules/ws/package.json', 'utf8')).version
    expect(pkg.dependencies.ws).toMatch(/^\d+\.\d+\.\d+$/)
    expect(pkg.dependencies.ws).toBe(installed)
    expect(lock.packages[''].dependencies.ws).toBe(installed)
    expect(lock.packages['node_modules/ws'].version).toBe(installed)
  })

  it('without one of them, warns once and sends through ws.send, and every member still gets everything', async () => {
    // A fresh module: the check runs on the first socket of the process.
    const { NodeConnection } = await import('../../adapters/node/sender.ts')
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {})
    const { server, got } = await sockets(2)
    for (const ws of server) delete (ws as unknown as { _sender: Record<string, unknown> })._sender._queue
    const sends = server.map((ws) => vi.spyOn(ws, 'send'))
    const conns = server.map((ws) => new NodeConnection(ws))
    for (const c of conns) c.send('one')
    for (const c of conns) c.send('two')
    expect(warn.mock.calls).toEqual([[expect.stringMatching(/no _sender\._queue .*ws\.send/)]])
    expect(sends.map((s) => s.mock.calls.length)).toEqual([2, 2])
    const deadline = Date.now() + 5000
    while (got.some((g) => g.length < 2) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10))
    expect(got).toEqual([
      ['one', 'two'],
      ['one', 'two'],
    ])
  })
})
