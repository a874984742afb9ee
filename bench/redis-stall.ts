/**
 * A Redis that stops answering: this starts its own redis-server on a free
 * port, one roomcast instance (Node) over it, a json listener and a json
 * publisher (one publish with an id every PUBLISH_EVERY_MS), then freezes
 * Redis with SIGSTOP for STALL_MS and lets it run again. It reports how long
 * `/readyz` took to turn 503, and how each publish sent during the stall was
 * answered, and whether it reached the listener after all.
 *
 *   npm run bench:redis-stall                              # this checkout
 *   SERVER_DIR=/path/to/other/checkout npm run bench:redis-stall   # another one (same script, its server)
 *   STALL_MS=12000 PUBLISH_EVERY_MS=20 npm run bench:redis-stall
 *
 * "Reported failed but delivered" is what must not happen for `unavailable`
 * (it says nothing was published); for `outcome_unknown` it is what the code
 * says may happen, and its publisher then gets an ack as well.
 */

import { existsSync } from 'node:fs'
import WebSocket from 'ws'
import { OwnRedis, uniquePrefix } from '../test/support/redis.ts'
import { spawnServer } from '../test/support/server.ts'

const SERVER_DIR = process.env.SERVER_DIR ?? process.cwd()

/** The Node server's entry in `dir`: adapters/node/server.ts, or adapters/node.ts in a checkout from before adapters became folders. */
const nodeEntry = (dir: string) => (existsSync(`${dir}/adapters/node/server.ts`) ? 'adapters/node/server.ts' : 'adapters/node.ts')
const STALL_MS = Number(process.env.STALL_MS ?? 12_000)
const PUBLISH_EVERY_MS = Number(process.env.PUBLISH_EVERY_MS ?? 20)

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function openJson(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, 'roomcast.v1', { perMessageDeflate: false })
    ws.once('message', () => resolve(ws)) // the welcome
    ws.once('error', reject)
  })
}

async function readyStatus(http: string): Promise<number> {
  const res = await fetch(`${http}/readyz`, { signal: AbortSignal.timeout(2000) })
  await res.body?.cancel()
  return res.status
}

async function main(): Promise<void> {
  const redis = await OwnRedis.start(false)
  const server = await spawnServer({
    cmd: process.execPath,
    args: ['--import', 'tsx', nodeEntry(SERVER_DIR)],
    cwd: SERVER_DIR,
    env: { REDIS_URL: redis.url, REDIS_PREFIX: uniquePrefix('stall'), RATE_LIMIT: '1000', RATE_BURST: '1000', HISTORY_MESSAGES: '10000' },
  })
  try {
    const room = `stall-${Date.now()}`
    const listener = await openJson(`${server.ws}/rooms/${room}`)
    const publisher = await openJson(`${server.ws}/rooms/${room}`)
    const delivered = new Set<string>()
    listener.on('message', (d: Buffer) => {
      const f = JSON.parse(d.toString())
      if (f.type === 'message') delivered.add(f.data)
    })
    const first = new Map<string, string>() // id -> 'ack' or the error code it was answered with first
    const ackedAfterError = new Set<string>()
    const sentAt = new Map<string, number>()
    publisher.on('message', (d: Buffer) => {
      const f = JSON.parse(d.toString())
      if (f.type !== 'ack' && f.type !== 'error') return
      const was = first.get(f.id)
      if (was === undefined) first.set(f.id, f.type === 'ack' ? 'ack' : f.code)
      else if (f.type === 'ack' && was !== 'ack') ackedAfterError.add(f.id)
    })
    let n = 0
    const pump = setInterval(() => {
      const id = `p${n++}`
      sentAt.set(id, Date.now())
      publisher.send(JSON.stringify({ type: 'publish', data: id, id }))
    }, PUBLISH_EVERY_MS)
    await sleep(1000)

    redis.pause()
    const stoppedAt = Date.now()
    let notReadyAfterMs: number | null = null
    while (Date.now() - stoppedAt < STALL_MS) {
      if (notReadyAfterMs === null && (await readyStatus(server.http).catch(() => 0)) === 503) notReadyAfterMs = Date.now() - stoppedAt
      await sleep(notReadyAfterMs === null ? 50 : 250)
    }
    const resumedAt = Date.now()
    redis.resume()
    const deadline = Date.now() + 20_000
    while ((await readyStatus(server.http).catch(() => 0)) !== 200 && Date.now() < deadline) await sleep(100)
    await sleep(1000)
    clearInterval(pump)
    // Every publish is answered within the command timeout; wait for the last answers and deliveries.
    const settle = Date.now() + 15_000
    while (first.size < sentAt.size && Date.now() < settle) await sleep(100)
    await sleep(1000)

    const during = [...sentAt].filter(([, at]) => at >= stoppedAt && at <= resumedAt).map(([id]) => id)
    const by = new Map<string, { answered: number; delivered: number }>()
    for (const id of during) {
      const code = first.get(id) ?? 'no answer'
      const row = by.get(code) ?? { answered: 0, delivered: 0 }
      row.answered++
      if (delivered.has(id)) row.delivered++
      by.set(code, row)
    }
    const failed = during.filter((id) => first.get(id) !== 'ack' && first.get(id) !== undefined)
    const failedDelivered = failed.filter((id) => delivered.has(id))
    console.log(`server: ${SERVER_DIR}`)
    console.log(`stall: SIGSTOP for ${STALL_MS} ms, a publish every ${PUBLISH_EVERY_MS} ms`)
    console.log(`/readyz 503 after: ${notReadyAfterMs === null ? `never within ${STALL_MS}` : notReadyAfterMs} ms`)
    console.log(`publishes sent during the stall: ${during.length}`)
    for (const [code, row] of by) console.log(`  first answer ${code}: ${row.answered}, of which reached the listener: ${row.delivered}`)
    console.log(`reported failed but delivered: ${failedDelivered.length} of ${failed.length} failed`)
    console.log(`  of those, acked after their error (outcome_unknown that went through): ${failedDelivered.filter((id) => ackedAfterError.has(id)).length}`)
    listener.close()
    publisher.close()
  } finally {
    redis.resume()
    await server.stop()
    await redis.dispose()
  }
}

await main()
