/**
 * What protocol v2 costs on Cloudflare with one v2 socket per room (`npm run bench:cf-v2`), measured in
 * `wrangler dev` (workerd hibernates idle objects after 10 s, as the platform does) from each room object's
 * own cost figures (GET /admin/rooms/:room, adapters/cloudflare/reporter.ts):
 *
 *   fanout  MEMBERS v2 sockets on the room's URL (presence on) and one publisher sending MESSAGES frames:
 *           the Durable Object invocations (frames in, alarms, registry reports) and wake-ups per message
 *           and per message per member. Each member's delivery is a send from the room's own object.
 *   idle    MEMBERS v2 sockets that only keep alive ({"type":"ping"} every PING_S s, answered by the runtime
 *           without running the object) for --seconds: the idle reaper's alarms and wake-ups, scaled to an hour.
 *
 * A relay design (a per-connection object subscribed to room objects) would add, per message and per member
 * on another object than the room's, one subrequest (an RPC to that member's connection object, billed as a
 * request there) and a wake-up of it whenever it hibernated: MEMBERS more requests per message than below.
 */
import type { TestClient } from '../test/support/client.ts'
import { connect, sleep } from '../test/support/client.ts'
import { removeDir, startWrangler, tempDir } from '../test/support/wrangler.ts'

const arg = (name: string, fallback: number) => {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`))
  return hit === undefined ? fallback : Number(hit.slice(name.length + 3))
}
const SECONDS = arg('seconds', 120)
const MEMBERS = arg('members', 10)
const MESSAGES = arg('messages', 100)
const PING_S = arg('ping', 20)
const IDLE_MS = arg('idle', 60_000)
const ADMIN_TOKEN = 'bench-cf-v2-token-0123456789'
const run = Math.random().toString(36).slice(2, 6)
const dir = tempDir('roomcast-bench-cf-v2-')
const server = await startWrangler({ ADMIN_TOKEN, MAX_UPGRADES_PER_IP: '1000', IDLE_TIMEOUT_MS: String(IDLE_MS) }, dir)
const clients: TestClient[] = []
const timers: ReturnType<typeof setInterval>[] = []
/** A room's figures as GET /admin/rooms/:room (or GET /rooms/:room) gives them. */
type Figures = { cost: Record<string, number>; connections?: number }
const admin = async (path: string) => (await fetch(`${server.http}${path}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json() as Promise<Figures>

/** A v2 socket on `room`'s URL, subscribed (with presence), pinging every PING_S s. */
async function member(room: string): Promise<TestClient> {
  const c = await connect(`${server.ws}/rooms/${room}`, { protocols: 'roomcast.v2' })
  await c.text()
  c.send({ type: 'subscribe', room, presence: true, id: 's' })
  await c.until((f: { type?: string }) => f.type === 'subscribed')
  clients.push(c)
  timers.push(setInterval(() => c.send({ type: 'ping' }), PING_S * 1000))
  return c
}

try {
  // ---- fanout ----
  const fan = `v2cost-fan-${run}`
  for (let i = 0; i < MEMBERS; i++) await member(fan)
  const publisher = await member(fan)
  const before = (await admin(`/admin/rooms/${fan}`)).cost
  for (let i = 0; i < MESSAGES; i++) {
    publisher.send({ type: 'publish', room: fan, data: i, id: `m${i}` })
    await sleep(50)
  }
  await publisher.frames('ack', MESSAGES, 30_000)
  // Past the final flush (FLUSH_MS, and a busy recheck), so its alarm is counted.
  await sleep(7000)
  const after = (await admin(`/admin/rooms/${fan}`)).cost
  const d = (k: string) => (after[k] ?? 0) - (before[k] ?? 0)
  const recipients = MEMBERS + 1
  // Invocations of the room object for these messages: each frame in (webSocketMessage), each alarm, each admin read is excluded.
  const invocations = MESSAGES + d('alarms')
  console.log(`fanout: ${MESSAGES} messages, ${recipients} v2 sockets on the room's URL (the publisher included)`)
  console.log(`| messages | deliveries | frames in | alarms | registry reports | wake-ups | invocations/message | invocations/delivery | wake-ups/message |`)
  console.log(`|---|---|---|---|---|---|---|---|---|`)
  console.log(
    `| ${d('messages')} | ${d('deliveries')} | ${MESSAGES} | ${d('alarms')} | ${d('reports')} | ${d('wakeUps')} | ${(invocations / MESSAGES).toFixed(3)} | ${(invocations / MESSAGES / recipients).toFixed(4)} | ${(d('wakeUps') / MESSAGES).toFixed(3)} |`,
  )
  console.log(
    `relay (derived): + ${recipients - 1} subrequests per message (one per member on its own connection object) = ${((invocations + (recipients - 1) * MESSAGES) / MESSAGES).toFixed(2)} requests/message, and up to ${recipients - 1} wake-ups per message\n`,
  )

  // ---- idle ----
  const idle = `v2cost-idle-${run}`
  for (let i = 0; i < MEMBERS; i++) await member(idle)
  const start = (await admin(`/admin/rooms/${idle}`)).cost
  const t0 = Date.now()
  await sleep(SECONDS * 1000)
  const end = (await admin(`/admin/rooms/${idle}`)).cost
  const hours = (Date.now() - t0) / 3_600_000
  const e = (k: string) => (end[k] ?? 0) - (start[k] ?? 0)
  const stats: Partial<Figures> = await admin(`/rooms/${idle}`).catch(() => ({}))
  console.log(`idle: ${MEMBERS} v2 sockets pinging every ${PING_S} s, IDLE_TIMEOUT_MS=${IDLE_MS}, ${SECONDS} s, scaled to an hour`)
  console.log(`| alarms | alarms/h | wake-ups | wake-ups/h | registry reports | reports/h | pings answered asleep | awake ms | members left |`)
  console.log(`|---|---|---|---|---|---|---|---|---|`)
  console.log(
    `| ${e('alarms')} | ${Math.round(e('alarms') / hours)} | ${e('wakeUps')} | ${Math.round(e('wakeUps') / hours)} | ${e('reports')} | ${Math.round(e('reports') / hours)} | ${e('autoResponses')} | ${e('awakeMs')} | ${stats.connections ?? '?'} |`,
  )
} finally {
  for (const t of timers) clearInterval(t)
  await Promise.all(clients.map((c) => c.close().catch(() => {})))
  await server.stop()
  removeDir(dir)
}
