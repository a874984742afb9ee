/**
 * Cross-instance fan-out: one publisher on instance A, N members on instance B,
 * both sharing one Redis. Reports deliveries per second and latency
 * percentiles (publisher send -> member receive, one clock: this process).
 *
 *   npm run bench:cross-instance                       # 1,000 members, default phases
 *   MEMBERS=1000 DURATION_MS=5000 RATES=50,200,max MODE=both REDIS_URL=redis://127.0.0.1:6379 npm run bench:cross-instance
 *
 * MODE=redis (A -> Redis -> B), memory (publisher and members on one instance
 * without Redis: the baseline), or both (default), run back to back.
 *
 * The clients run in this process, so on a small machine the numbers bound the
 * whole system (two servers, Redis and 1,000 clients), not the server alone.
 */
import { performance } from 'node:perf_hooks'
import WebSocket from 'ws'
import { requireRedis, uniquePrefix } from '../test/support/redis.ts'
import type { ServerHandle } from '../test/support/server.ts'
import { spawnServer } from '../test/support/server.ts'

const MEMBERS = Number(process.env.MEMBERS ?? 1000)
const DURATION_MS = Number(process.env.DURATION_MS ?? 5000)
const RATES = (process.env.RATES ?? '50,200,max').split(',')
const MODE = process.env.MODE ?? 'both'
const MODES = MODE === 'both' ? ['redis', 'memory'] : [MODE]
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379'
/** In the "max" phase, how many messages may be in flight (sent, not yet seen by the sentinel member). */
const WINDOW = 32

function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false })
    ws.once('open', () => resolve(ws))
    ws.once('error', reject)
  })
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN
}

interface Result {
  rate: string
  messages: number
  deliveries: number
  seconds: number
  p50: number
  p99: number
  max: number
}

async function measure(mode: string): Promise<void> {
  const env: Record<string, string> = {
    RATE_LIMIT: '1000000',
    RATE_BURST: '1000000',
    MAX_ROOM_CONNECTIONS: String(MEMBERS + 10),
  }
  if (mode === 'redis') Object.assign(env, { REDIS_URL, REDIS_PREFIX: uniquePrefix('bench') })
  const start = () => spawnServer({ cmd: process.execPath, args: ['--import', 'tsx', 'adapters/node/server.ts'], env })
  const servers: [ServerHandle, ...ServerHandle[]] = mode === 'redis' ? await Promise.all([start(), start()]) : [await start()]
  const [a, b = a] = servers
  const room = `bench-${Date.now().toString(36)}`
  try {
    const members: WebSocket[] = []
    for (let i = 0; i < MEMBERS; i += 100) {
      const batch = Math.min(100, MEMBERS - i)
      members.push(...(await Promise.all(Array.from({ length: batch }, () => open(`${b.ws}/rooms/${room}`)))))
    }
    const publisher = await open(`${a.ws}/rooms/${room}`)
    publisher.on('message', () => {}) // its own echo

    // Each member records latency samples; the first one also paces the "max" phase.
    let samples = new Float64Array(0)
    let count = 0
    let seenBySentinel = 0
    let onSentinel: (() => void) | null = null
    for (const [i, ws] of members.entries()) {
      ws.on('message', (data: Buffer) => {
        const now = performance.now()
        if (count < samples.length) samples[count] = now - Number(data.toString())
        count++
        if (i === 0) {
          seenBySentinel++
          onSentinel?.()
        }
      })
    }

    const results: Result[] = []
    for (const rate of RATES) {
      const expectedMessages = rate === 'max' ? 200_000 : Math.ceil((Number(rate) * DURATION_MS) / 1000)
      samples = new Float64Array(Math.min(expectedMessages * MEMBERS, 50_000_000))
      count = 0
      seenBySentinel = 0
      let sent = 0
      const t0 = performance.now()
      if (rate === 'max') {
        // Closed loop: keep WINDOW messages in flight, for DURATION_MS.
        await new Promise<void>((resolve) => {
          const pump = () => {
            while (sent - seenBySentinel < WINDOW && performance.now() - t0 < DURATION_MS) {
              publisher.send(String(performance.now()))
              sent++
            }
            if (performance.now() - t0 >= DURATION_MS) {
              onSentinel = null
              resolve()
            }
          }
          onSentinel = pump
          pump()
        })
      } else {
        const every = 1000 / Number(rate)
        await new Promise<void>((resolve) => {
          const timer = setInterval(
            () => {
              // Catch up on timer lateness so the offered rate is the asked one.
              const due = Math.min(expectedMessages, Math.floor((performance.now() - t0) / every) + 1)
              while (sent < due) {
                publisher.send(String(performance.now()))
                sent++
              }
              if (sent >= expectedMessages) {
                clearInterval(timer)
                resolve()
              }
            },
            Math.max(1, Math.floor(every)),
          )
        })
      }
      // Wait (bounded) for every delivery of what was sent.
      const want = sent * MEMBERS
      const deadline = performance.now() + 60_000
      while (count < want && performance.now() < deadline) await new Promise((r) => setTimeout(r, 20))
      const seconds = (performance.now() - t0) / 1000
      const got = samples.subarray(0, Math.min(count, samples.length)).sort()
      results.push({
        rate: rate === 'max' ? `max (window ${WINDOW})` : `${rate}/s`,
        messages: sent,
        deliveries: count,
        seconds,
        p50: percentile(got, 0.5),
        p99: percentile(got, 0.99),
        max: got.at(-1) ?? Number.NaN,
      })
      if (count < want) console.error(`rate ${rate}: only ${count} of ${want} deliveries within 60 s`)
    }

    console.log(
      mode === 'redis'
        ? `cross-instance fan-out: 1 publisher on A, ${MEMBERS} raw members on B, one Redis (${REDIS_URL})`
        : `baseline, one instance in memory: 1 publisher and ${MEMBERS} raw members on it`,
    )
    console.log('offered rate      | messages | deliveries | deliveries/s | p50 ms | p99 ms | max ms')
    for (const r of results) {
      console.log(
        `${r.rate.padEnd(17)} | ${String(r.messages).padStart(8)} | ${String(r.deliveries).padStart(10)} | ` +
          `${Math.round(r.deliveries / r.seconds)
            .toString()
            .padStart(12)} | ${r.p50.toFixed(1).padStart(6)} | ${r.p99.toFixed(1).padStart(6)} | ${r.max.toFixed(1).padStart(6)}`,
      )
    }
    for (const ws of [...members, publisher]) ws.terminate()
  } finally {
    await Promise.all(servers.map((s) => s.stop()))
  }
}

async function main(): Promise<void> {
  if (MODES.includes('redis')) await requireRedis(REDIS_URL)
  for (const mode of MODES) await measure(mode)
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err)
    process.exit(1)
  },
)
