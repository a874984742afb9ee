/**
 * A flood of HTTP publishes to new room names, as an unauthenticated client
 * can send: COUNT `POST /rooms/junk-N/messages` of BODY_KIB KiB each, CONCURRENCY
 * at a time, against one Node instance, WAVES times over (every wave to new
 * names). Reports the server's resident memory before and after each wave
 * (settled), and how the publishes were answered.
 *
 * RSS after one wave mostly shows how far the garbage collector let the heap
 * grow while the flood ran; whether memory is bounded shows over several
 * waves: bounded, it levels off; unbounded, every wave adds its bodies again.
 *
 *   npm run bench:junk-rooms                                        # defaults of this checkout
 *   SERVER_DIR=/path/to/other/checkout npm run bench:junk-rooms    # another one, same flood
 *   HISTORY_TOTAL_BYTES=16777216 MAX_PUBLISHES_PER_IP=1000000 npm run bench:junk-rooms
 *
 * Variables set for the bench reach the server (spawnServer passes the
 * environment on), so the last line shows the history budget on its own: the
 * per-address limit lifted, every publish accepted, and the memory kept bound
 * by HISTORY_TOTAL_BYTES (plus the fixed cost of the rooms, MAX_ROOMS at most).
 */

import { existsSync } from 'node:fs'
import { spawnServer } from '../test/support/server.ts'
import { settledRssKiB } from './proc.ts'

const SERVER_DIR = process.env.SERVER_DIR ?? process.cwd()

/** The Node server's entry in `dir`: adapters/node/server.ts, or adapters/node.ts in a checkout from before adapters became folders. */
const nodeEntry = (dir: string) => (existsSync(`${dir}/adapters/node/server.ts`) ? 'adapters/node/server.ts' : 'adapters/node.ts')
const COUNT = Number(process.env.COUNT ?? 3000)
const BODY_KIB = Number(process.env.BODY_KIB ?? 60)
const CONCURRENCY = Number(process.env.CONCURRENCY ?? 32)
const WAVES = Number(process.env.WAVES ?? 1)

async function main(): Promise<void> {
  const server = await spawnServer({ cmd: process.execPath, args: ['--import', 'tsx', nodeEntry(SERVER_DIR)], cwd: SERVER_DIR, env: {} })
  const pid = server.proc.pid
  if (pid === undefined) throw new Error('no server pid')
  try {
    // Warm the routes up, so the first figure is a running server's.
    await (await fetch(`${server.http}/rooms/warm/messages`, { method: 'POST', body: 'x' })).text()
    const before = await settledRssKiB(pid)
    const body = 'j'.repeat(BODY_KIB * 1024)
    const mib = (kib: number) => (kib / 1024).toFixed(1)
    console.log(`server: ${SERVER_DIR}`)
    const vars = ['HISTORY_TOTAL_BYTES', 'MAX_ROOMS', 'MAX_PUBLISHES_PER_IP', 'HISTORY_BYTES', 'NODE_OPTIONS'].filter((v) => process.env[v] !== undefined)
    console.log(`settings: ${vars.length === 0 ? 'defaults' : vars.map((v) => `${v}=${process.env[v]}`).join(' ')}`)
    console.log(`RSS before: ${mib(before)} MiB`)
    let next = 0
    for (let wave = 1; wave <= WAVES; wave++) {
      const statuses = new Map<string, number>()
      const end = next + COUNT
      const started = Date.now()
      const worker = async () => {
        while (next < end) {
          const n = next++
          const res = await fetch(`${server.http}/rooms/junk-${n}/messages`, { method: 'POST', body, headers: { 'content-type': 'text/plain' } })
          const code = res.status === 202 ? '202' : `${res.status} ${res.headers.get('x-roomcast-error') ?? ''}`.trim()
          statuses.set(code, (statuses.get(code) ?? 0) + 1)
          await res.body?.cancel()
        }
      }
      await Promise.all(Array.from({ length: CONCURRENCY }, worker))
      const seconds = (Date.now() - started) / 1000
      await new Promise((r) => setTimeout(r, 2000))
      const after = await settledRssKiB(pid)
      const accepted = statuses.get('202') ?? 0
      console.log(
        `wave ${wave}: ${COUNT} POST /rooms/junk-N/messages of ${BODY_KIB} KiB, ${CONCURRENCY} at a time, in ${seconds.toFixed(1)} s; ` +
          `${[...statuses].map(([k, v]) => `${k}: ${v}`).join(', ')} (${mib(accepted * BODY_KIB)} MiB accepted); RSS ${mib(after)} MiB (+${mib(after - before)})`,
      )
    }
  } finally {
    await server.stop()
  }
}

await main()
