/**
 * `npx tsx bench/v2-fanout.ts`: the core's fan-out cost, v1 json members against v2 subscriptions, in process
 * (counting connections, no sockets): the same room, N members, M publishes, alternating rounds. What it isolates
 * is what v2 adds per delivery (since subscriptions hold the socket itself: nothing); `npm run bench`
 * measures the same over real sockets, where the runtime's send dominates.
 */

import type { Connection } from '../src/index.ts'
import { Hub, Session, defaults } from '../src/index.ts'

const N = 1000
const M = 2000
const ROUNDS = 5
let sent = 0

class Counting implements Connection {
  send(): void {
    sent++
  }
  close(): void {}
  bufferedAmount(): number {
    return 0
  }
}

const flush = () => new Promise((r) => setTimeout(r, 0))

async function build(v2: boolean) {
  const hub = new Hub({ config: { ...defaults, historyMessages: 10 } })
  const room = hub.room(v2 ? 'v2' : 'v1')
  for (let i = 0; i < N; i++) {
    if (v2) {
      const s = new Session(hub, new Counting(), undefined, { now: Date.now, setTimeout, clearTimeout } as never)
      s.open()
      s.receive('{"type":"subscribe","room":"v2"}')
    } else room.join(new Counting(), { mode: 'json' })
  }
  await flush()
  await flush()
  return room
}

async function run(v2: boolean): Promise<number> {
  const room = await build(v2)
  sent = 0
  const t0 = performance.now()
  for (let i = 0; i < M; i++) await room.publish('text', `message ${i} xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx`)
  const ns = ((performance.now() - t0) * 1e6) / sent
  if (sent !== N * M) throw new Error(`sent ${sent}, expected ${N * M}`)
  return ns
}

const results: Record<string, number[]> = { v1: [], v2: [] }
for (let r = 0; r < ROUNDS; r++) {
  results.v1?.push(await run(false))
  results.v2?.push(await run(true))
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number
const v1 = median(results.v1 ?? [])
const v2 = median(results.v2 ?? [])
console.log(
  `N=${N} members, ${M} publishes, ${ROUNDS} rounds: v1 json ${v1.toFixed(1)} ns/delivery, v2 ${v2.toFixed(1)} ns/delivery (median); v2/v1 = ${(v2 / v1).toFixed(2)}`,
)
