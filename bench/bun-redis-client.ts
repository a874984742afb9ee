/**
 * On Bun: ioredis (what roomcast uses) against Bun's own RedisClient, on what
 * the Redis log does most: run a script (EVALSHA) one at a time and many at
 * once, and carry a published message to a subscriber.
 *
 *   bun run bench/bun-redis-client.ts                 # REDIS_URL (default redis://127.0.0.1:6379), N=20000
 *
 * Bun's client has no cluster mode and no SSUBSCRIBE, so it could serve only
 * the single-Redis log; this says whether even that would gain.
 */
import { RedisClient } from 'bun'
import { Redis } from 'ioredis'

const URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379'
const N = Number(process.env.N ?? 20_000)
const SCRIPT = "redis.call('INCR', KEYS[1]); return redis.call('GET', KEYS[1])"
const key = `rcbench:${process.pid}`

interface Client {
  name: string
  evalsha(sha: string): Promise<unknown>
  publish(channel: string, text: string): Promise<unknown>
  subscribe(channel: string, on: (text: string) => void): Promise<unknown>
  close(): void
}

async function ioredis(): Promise<Client> {
  const cmd = new Redis(URL, { enableAutoPipelining: true })
  const sub = new Redis(URL)
  return {
    name: 'ioredis 5 on Bun',
    evalsha: (sha) => cmd.evalsha(sha, 1, key),
    publish: (channel, text) => cmd.publish(channel, text),
    async subscribe(channel, on) {
      sub.on('message', (_c: string, text: string) => on(text))
      return sub.subscribe(channel)
    },
    close() {
      cmd.disconnect()
      sub.disconnect()
    },
  }
}

async function bun(): Promise<Client> {
  const cmd = new RedisClient(URL)
  const sub = new RedisClient(URL)
  await Promise.all([cmd.connect(), sub.connect()])
  return {
    name: "Bun's RedisClient",
    evalsha: (sha) => cmd.send('EVALSHA', [sha, '1', key]),
    publish: (channel, text) => cmd.publish(channel, text),
    subscribe: (channel, on) => sub.subscribe(channel, (text: string) => on(text)),
    close() {
      cmd.close()
      sub.close()
    },
  }
}

async function measure(c: Client, sha: string): Promise<string> {
  let t = performance.now()
  for (let i = 0; i < N / 10; i++) await c.evalsha(sha)
  const sequentialUs = ((performance.now() - t) * 1000) / (N / 10)
  t = performance.now()
  await Promise.all(Array.from({ length: N }, () => c.evalsha(sha)))
  const concurrentPerS = N / ((performance.now() - t) / 1000)
  const channel = `${key}:ch`
  const latencies: number[] = []
  let waiting: (() => void) | undefined
  await c.subscribe(channel, (text) => {
    latencies.push(performance.now() - Number(text))
    waiting?.()
  })
  for (let i = 0; i < N / 10; i++) {
    const got = new Promise<void>((r) => (waiting = r))
    await c.publish(channel, String(performance.now()))
    await got
  }
  latencies.sort((a, b) => a - b)
  const p = (q: number) => (latencies[Math.floor(q * (latencies.length - 1))] ?? Number.NaN).toFixed(3)
  return `${c.name.padEnd(18)} | ${sequentialUs.toFixed(1).padStart(13)} | ${Math.round(concurrentPerS).toString().padStart(16)} | ${p(0.5).padStart(7)} | ${p(0.99).padStart(7)}`
}

const loader = new Redis(URL)
const sha = String(await loader.script('LOAD', SCRIPT))
const lines: string[] = []
// Twice each, alternating, so neither gets only the cold or the warm run.
for (const make of [ioredis, bun, ioredis, bun]) {
  const c = await make()
  lines.push(await measure(c, sha))
  c.close()
}
await loader.del(key)
loader.disconnect()
console.log(`Redis at ${URL}, N = ${N} (Bun ${Bun.version})`)
console.log('client             | EVALSHA, µs each one at a time | EVALSHA/s, N at once | publish->message p50 ms | p99 ms')
for (const l of lines) console.log(l)
process.exit(0)
