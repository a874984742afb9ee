/**
 * Run by runtimes.test.ts under Deno and Bun: the client with the runtime's own
 * WebSocket (no `ws`). Two clients in one room; one publishes, the other
 * receives; prints one JSON line with what happened.
 */
import { RoomcastClient } from '../../src/client/index.ts'

const g = globalThis as { Deno?: { args: string[] }; process?: { argv: string[] } }
const runtime = g.Deno ? 'deno' : 'bun'
const [url, room] = g.Deno ? g.Deno.args : (g.process?.argv.slice(2) ?? [])
if (url === undefined || room === undefined) throw new Error('usage: runtime-smoke.ts <ws url> <room>')

const timeout = setTimeout(() => {
  console.log(JSON.stringify({ error: 'timed out' }))
  throw new Error('timed out')
}, 20_000)

const a = new RoomcastClient({ url, room })
const b = new RoomcastClient({ url, room })
const received = new Promise<unknown>((resolve) => b.on('message', (m) => resolve(m.data)))
const welcomed = (c: RoomcastClient) => new Promise<void>((resolve) => c.on('welcome', () => resolve()))
await Promise.all([welcomed(a), welcomed(b)])
const seq = await a.publish({ text: `from ${runtime}` })
const data = await received
await Promise.all([a.close(), b.close()])
clearTimeout(timeout)
console.log(JSON.stringify({ runtime, seq, data, state: a.state }))
