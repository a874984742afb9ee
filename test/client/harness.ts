/** The client under test, on Node: the real `ws` WebSocket (Node 20 has no global one) and an event recorder. */

import { afterAll, afterEach, beforeAll } from 'vitest'
import WS from 'ws'
import type { ClientOptions, Missed, StateChange } from '../../src/client/index.ts'
import { RoomcastClient } from '../../src/client/index.ts'
import type { MessageFrame, WelcomeFrame } from '../../src/wire/frames.ts'
import type { ServerHandle } from '../support/server.ts'
import { spawnServer } from '../support/server.ts'
import type { TcpProxy } from '../support/tcp-proxy.ts'
import { startProxy } from '../support/tcp-proxy.ts'

/** Start the Node server; `port` to come back on the same port after a restart. */
export function startNode(env: Record<string, string> = {}, port = 0): Promise<ServerHandle> {
  return spawnServer({ cmd: process.execPath, args: ['--import', 'tsx', 'adapters/node/server.ts'], env: { ...env, PORT: String(port) } })
}

/** What a client test file shares: one Node server, and probes and proxies that are closed after each test. */
export interface ClientFixture {
  readonly server: ServerHandle
  /** A probe on the fixture's server (unless `url` says otherwise), with the fixture's default options. */
  probe(opts: Partial<ClientOptions>): Probe
  /** A TCP proxy in front of the fixture's server (or of `port`), to cut, refuse or stall the network. */
  proxy(port?: number): Promise<TcpProxy>
  /** Close every probe now (before stopping a server a test started itself). */
  closeProbes(): Promise<void>
}

/** Register the hooks of a client test file: start a Node server with `env`, clean up after each test and at the end. */
export function clientFixture(env: Record<string, string>, defaults: Partial<ClientOptions> = {}): ClientFixture {
  let server: ServerHandle | undefined
  const probes: Probe[] = []
  const proxies: TcpProxy[] = []
  beforeAll(async () => {
    server = await startNode(env)
  })
  afterAll(async () => {
    await server?.stop()
  })
  afterEach(async () => {
    // Proxies first: a client closing over a stalled proxy would wait for its closing handshake.
    await Promise.all(proxies.splice(0).map((p) => p.close()))
    await fixture.closeProbes()
  })
  const fixture: ClientFixture = {
    get server() {
      if (server === undefined) throw new Error('the fixture server is not started yet')
      return server
    },
    probe(opts) {
      const p = new Probe({ url: fixture.server.ws, ...defaults, ...opts })
      probes.push(p)
      return p
    },
    async proxy(port = fixture.server.port) {
      const p = await startProxy(port)
      proxies.push(p)
      return p
    },
    async closeProbes() {
      await Promise.all(probes.splice(0).map((p) => p.client.close()))
    },
  }
  return fixture
}

/** A client and everything it reported, in order. */
export class Probe {
  readonly client: RoomcastClient
  readonly messages: MessageFrame[] = []
  readonly states: StateChange[] = []
  readonly welcomes: WelcomeFrame[] = []
  readonly missed: Missed[] = []
  readonly errors: string[] = []
  /** Every socket the client opened, so a test can make it misbehave on the wire. */
  readonly sockets: WS[] = []
  presence = 0

  constructor(opts: Omit<ClientOptions, 'WebSocket'>) {
    const sockets = this.sockets
    class Recorded extends WS {
      constructor(...args: ConstructorParameters<typeof WS>) {
        super(...args)
        sockets.push(this)
      }
    }
    this.client = new RoomcastClient({ ...opts, WebSocket: Recorded as unknown as typeof WebSocket })
    this.client.on('message', (m) => this.messages.push(m))
    this.client.on('state', (s) => this.states.push(s))
    this.client.on('welcome', (w) => this.welcomes.push(w))
    this.client.on('missed', (m) => this.missed.push(m))
    this.client.on('error', (e) => this.errors.push(e.code))
    this.client.on('presence', (p) => (this.presence = p.connections))
  }

  /** The data of every message received, in order. */
  data(): unknown[] {
    return this.messages.map((m) => m.data)
  }

  /** Wait for the next welcome after the `n`th (default: any new one from now). */
  welcomed(n = this.welcomes.length + 1, timeoutMs = 15_000): Promise<WelcomeFrame> {
    return until(() => this.welcomes[n - 1], `welcome #${n}`, timeoutMs)
  }
}

/**
 * Publish a sentinel from `from` and wait until each of `to` has it: a replay or a duplicate would come
 * before it on the same connection, so after this nothing more is on its way. The sentinel is then taken
 * out of their `messages`, so a test's assertions read as if it had not been sent.
 */
export async function sentinel(from: Probe, ...to: Probe[]): Promise<void> {
  const mark = `sentinel-${Math.random().toString(36).slice(2, 10)}`
  await from.client.publish(mark)
  await until(() => to.every((p) => p.messages.some((m) => m.data === mark)), `the sentinel ${mark}`)
  for (const p of to)
    p.messages.splice(
      p.messages.findIndex((m) => m.data === mark),
      1,
    )
}

/** Poll `get` until it returns something other than undefined or false. */
export async function until<T>(get: () => T | undefined | false, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = get()
    if (v !== undefined && v !== false) return v
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

/** The error code a promise rejected with (fails if it resolved). */
export async function rejection(p: Promise<unknown>): Promise<string> {
  try {
    const v = await p
    throw new Error(`expected a rejection, got ${JSON.stringify(v)}`)
  } catch (err) {
    const code = (err as { code?: string }).code
    if (code === undefined) throw err
    return code
  }
}
