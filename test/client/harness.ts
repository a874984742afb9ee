/** The client under test, on Node: the real `ws` WebSocket (Node 20 has no global one) and an event recorder. */
import WS from 'ws'
import type { ClientOptions, Missed, StateChange } from '../../src/client/index.ts'
import { RoomcastClient } from '../../src/client/index.ts'
import type { MessageFrame, WelcomeFrame } from '../../src/protocol.ts'
import { spawnServer } from '../support/server.ts'
import type { ServerHandle } from '../support/server.ts'

/** Start the Node server; `port` to come back on the same port after a restart. */
export function startNode(env: Record<string, string> = {}, port = 0): Promise<ServerHandle> {
  return spawnServer({ cmd: process.execPath, args: ['--import', 'tsx', 'adapters/node.ts'], env: { ...env, PORT: String(port) } })
}

/** A client and everything it reported, in order. */
export class Probe {
  readonly client: RoomcastClient
  readonly messages: MessageFrame[] = []
  readonly states: StateChange[] = []
  readonly welcomes: WelcomeFrame[] = []
  readonly missed: Missed[] = []
  readonly errors: string[] = []
  presence = 0

  constructor(opts: Omit<ClientOptions, 'WebSocket'>) {
    this.client = new RoomcastClient({ ...opts, WebSocket: WS as unknown as typeof WebSocket })
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
