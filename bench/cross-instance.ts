/**
 * Cross-instance fan-out: publishers on one instance, members of their rooms
 * on the others, all sharing one Redis or one Redis Cluster. Reports
 * deliveries per second and latency percentiles (publisher send -> member
 * receive, one clock: this process).
 *
 *   npm run bench:cross-instance                       # 1,000 members, 1 room, A -> B, then in memory
 *   MEMBERS=1000 DURATION_MS=5000 RATES=50,200,max MODE=redis,memory REDIS_URL=redis://127.0.0.1:6379 npm run bench:cross-instance
 *   MODE=redis,cluster INSTANCES=3 ROOMS=6 RATES=200,400 npm run bench:cross-instance   # one Redis against a cluster
 *
 * MODE is a comma list of: `redis` (one Redis at REDIS_URL), `cluster` (a Redis
 * Cluster: REDIS_CLUSTER_NODES if set, else one this bench starts, 3 masters and
 * 3 replicas from redis-server, stopped by PID at the end), `memory` (one instance
 * without Redis: the baseline). `both` is `redis,memory`.
 *
 * With INSTANCES=k and ROOMS=r, room i's publisher is on instance i mod k and
 * its members (MEMBERS/r of them) are spread over the other instances; on a
 * cluster, room i lives on shard i mod 3. The offered rate (RATES, messages per
 * second over all rooms) goes round the rooms.
 *
 * The clients run in this process, so on a small machine the numbers bound the
 * whole system (the servers, Redis and the clients), not the server alone.
 */
import { performance } from 'node:perf_hooks'
import WebSocket from 'ws'
import { requireRedis, uniquePrefix } from '../test/support/redis.ts'
import type { Shard } from '../test/support/redis-cluster.ts'
import { OwnCluster, roomOn } from '../test/support/redis-cluster.ts'
import type { ServerHandle } from '../test/support/server.ts'
import { spawnServer } from '../test/support/server.ts'
import { BENCH_ENV } from './targets.ts'

const MEMBERS = Number(process.env.MEMBERS ?? 1000)
const DURATION_MS = Number(process.env.DURATION_MS ?? 5000)
const RATES = (process.env.RATES ?? '50,200,max').split(',')
const MODE = process.env.MODE ?? 'both'
const MODES = MODE === 'both' ? ['redis', 'memory'] : MODE.split(',')
const INSTANCES = Number(process.env.INSTANCES ?? 2)
const ROOMS = Number(process.env.ROOMS ?? 1)
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379'
/** In the "max" phase, how many messages may be in flight (sent, not yet seen by their room's first member). */
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

/** Where the instances share rooms for one mode, and how to name rooms there. */
interface Backend {
  env: Record<string, string>
  describe: string
  room(i: number): string
  dispose(): Promise<void>
}

async function backendFor(mode: string): Promise<Backend> {
  const stamp = Date.now().toString(36)
  if (mode === 'memory') return { env: {}, describe: 'one instance in memory', room: (i) => `bench-${stamp}-${i}`, dispose: async () => {} }
  if (mode === 'redis') {
    await requireRedis(REDIS_URL)
    return { env: { REDIS_URL }, describe: `one Redis (${REDIS_URL})`, room: (i) => `bench-${stamp}-${i}`, dispose: async () => {} }
  }
  if (mode !== 'cluster') throw new Error(`MODE: ${mode} is not redis, cluster or memory`)
  const given = process.env.REDIS_CLUSTER_NODES
  const own = given ? undefined : await OwnCluster.start()
  const nodes = given ?? (own as OwnCluster).env
  // Rooms go round the shards when we know them (our own cluster); a given cluster gets random names.
  const shards: Shard[] = own ? await own.masters() : []
  return {
    env: { REDIS_CLUSTER_NODES: nodes },
    describe: `a Redis Cluster (${own ? '3 masters + 3 replicas started by the bench' : nodes}; rooms spread over its shards)`,
    room: (i) => (shards.length > 0 ? roomOn(shards[i % shards.length] as Shard, 'bench') : `bench-${stamp}-${i}`),
    dispose: async () => own?.dispose(),
  }
}

async function measure(mode: string): Promise<void> {
  const backend = await backendFor(mode)
  // The fan-out bench's limits (every member connects from 127.0.0.1, a thousand at once).
  const env: Record<string, string> = { ...BENCH_ENV, MAX_ROOM_CONNECTIONS: String(MEMBERS + 10), REDIS_PREFIX: uniquePrefix('bench'), ...backend.env }
  const start = () => spawnServer({ cmd: process.execPath, args: ['--import', 'tsx', 'adapters/node/server.ts'], env })
  const k = mode === 'memory' ? 1 : Math.max(1, INSTANCES)
  let servers: ServerHandle[] = []
  try {
    servers = await Promise.all(Array.from({ length: k }, start))
    const rooms = Array.from({ length: ROOMS }, (_, i) => {
      const home = i % k
      // Members on every other instance (all on the one instance in memory).
      const away = k === 1 ? [0] : Array.from({ length: k }, (_, j) => j).filter((j) => j !== home)
      return { name: backend.room(i), home, away, members: [] as WebSocket[], publisher: undefined as WebSocket | undefined }
    })
    const perRoom = Math.floor(MEMBERS / ROOMS)
    for (const room of rooms) {
      for (let i = 0; i < perRoom; i += 100) {
        const batch = Math.min(100, perRoom - i)
        const opened = await Promise.all(
          Array.from({ length: batch }, (_, j) => {
            const at = servers[room.away[(i + j) % room.away.length] as number] as ServerHandle
            return open(`${at.ws}/rooms/${room.name}`)
          }),
        )
        room.members.push(...opened)
      }
      room.publisher = await open(`${(servers[room.home] as ServerHandle).ws}/rooms/${room.name}`)
      room.publisher.on('message', () => {}) // its own echo
    }

    // Each member records latency samples; each room's first member also paces the "max" phase.
    let samples = new Float64Array(0)
    let count = 0
    const seenBySentinel = rooms.map(() => 0)
    let onSentinel: (() => void) | null = null
    for (const [r, room] of rooms.entries()) {
      for (const [i, ws] of room.members.entries()) {
        ws.on('message', (data: Buffer) => {
          const now = performance.now()
          if (count < samples.length) samples[count] = now - Number(data.toString())
          count++
          if (i === 0) {
            seenBySentinel[r] = (seenBySentinel[r] ?? 0) + 1
            onSentinel?.()
          }
        })
      }
    }
    const publishers = rooms.map((room) => room.publisher as WebSocket)
    const members = perRoom * rooms.length

    const results: Result[] = []
    for (const rate of RATES) {
      const expectedMessages = rate === 'max' ? 200_000 : Math.ceil((Number(rate) * DURATION_MS) / 1000)
      samples = new Float64Array(Math.min(expectedMessages * perRoom, 50_000_000))
      count = 0
      seenBySentinel.fill(0)
      let sent = 0
      const publish = () => {
        ;(publishers[sent % publishers.length] as WebSocket).send(String(performance.now()))
        sent++
      }
      const t0 = performance.now()
      if (rate === 'max') {
        // Closed loop: keep WINDOW messages in flight over all rooms, for DURATION_MS.
        const inFlight = () => sent - seenBySentinel.reduce((a, b) => a + b, 0)
        await new Promise<void>((resolve) => {
          const pump = () => {
            while (inFlight() < WINDOW && performance.now() - t0 < DURATION_MS) publish()
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
              while (sent < due) publish()
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
      const want = sent * perRoom
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
      mode === 'memory'
        ? `baseline, one instance in memory: ${ROOMS} room(s), ${members} raw members and the publishers on it`
        : `cross-instance fan-out over ${backend.describe}: ${k} instances, ${ROOMS} room(s), ${members} raw members, each room's publisher on another instance than its members`,
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
    for (const room of rooms) for (const ws of [...room.members, room.publisher]) ws?.terminate()
  } finally {
    await Promise.all(servers.map((s) => s.stop()))
    await backend.dispose()
  }
}

async function main(): Promise<void> {
  for (const mode of MODES) await measure(mode)
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err)
    process.exit(1)
  },
)
