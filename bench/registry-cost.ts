/**
 * What the Cloudflare room registry costs per room per hour (`npm run bench:registry`):
 * four rooms with different habits run side by side in `wrangler dev` (workerd
 * hibernates idle objects after 10 s, as the platform does) for `--seconds`
 * (default 120), then the registry's count of each room's reports and the
 * room's own wake-ups and awake time are read from GET /admin/rooms and scaled
 * to an hour. Each report is one Durable Object request to the registry; the
 * registry never calls a room, so it causes no wake-up of its own.
 *
 *   quiet  10 json members, each pinging every 20 s (answered by the runtime), no messages
 *   chat   5 members, one message every 15 s (long enough apart for the room to sleep in between), pinging every 20 s
 *   busy   5 members, 5 messages per second throughout
 *   churn  3 members, and a fourth that joins and leaves every 3 s
 */

import type { TestClient } from '../test/support/client.ts'
import { connect, connectJson, sleep } from '../test/support/client.ts'
import { removeDir, startWrangler, tempDir } from '../test/support/wrangler.ts'

const arg = (name: string, fallback: number) => {
  const hit = process.argv.find((a) => a.startsWith(`--${name}=`))
  return hit === undefined ? fallback : Number(hit.slice(name.length + 3))
}
const SECONDS = arg('seconds', 120)
const ADMIN_TOKEN = 'bench-registry-token-0123456789'
const run = Math.random().toString(36).slice(2, 6)
const room = (habit: string) => `cost-${habit}-${run}`

const dir = tempDir('roomcast-bench-registry-')
const server = await startWrangler({ ADMIN_TOKEN, MAX_UPGRADES_PER_IP: '1000' }, dir)
const clients: TestClient[] = []
const timers: ReturnType<typeof setInterval>[] = []
const ws = (name: string) => `${server.ws}/rooms/${name}`

try {
  const started = Date.now()
  // quiet: pings only.
  for (let i = 0; i < 10; i++) {
    const { client } = await connectJson(ws(room('quiet')))
    clients.push(client)
    timers.push(setInterval(() => client.send({ type: 'ping' }), 20_000))
  }
  // chat: a message every 15 s.
  const chat: TestClient[] = []
  for (let i = 0; i < 5; i++) chat.push((await connectJson(ws(room('chat')))).client)
  clients.push(...chat)
  for (const c of chat) timers.push(setInterval(() => c.send({ type: 'ping' }), 20_000))
  let n = 0
  timers.push(setInterval(() => chat[n++ % chat.length]?.send({ type: 'publish', data: `chat ${n}` }), 15_000))
  // busy: 5 per second.
  const busy: TestClient[] = []
  for (let i = 0; i < 5; i++) busy.push((await connectJson(ws(room('busy')))).client)
  clients.push(...busy)
  timers.push(setInterval(() => busy[n++ % busy.length]?.send({ type: 'publish', data: `busy ${n}` }), 200))
  // churn: one member in and out every 3 s.
  for (let i = 0; i < 3; i++) clients.push((await connectJson(ws(room('churn')))).client)
  let churning: TestClient | undefined
  timers.push(
    setInterval(() => {
      if (churning === undefined) void connect(ws(room('churn'))).then((c) => (churning = c))
      else {
        void churning.close()
        churning = undefined
      }
    }, 3000),
  )
  // Drop what members receive, so nobody's inbox grows for the whole run.
  timers.push(
    setInterval(() => {
      for (const c of clients) c.inbox.splice(0)
    }, 1000),
  )

  await sleep(SECONDS * 1000)
  for (const t of timers) clearInterval(t)
  // Let the last flush report.
  await sleep(4000)
  const elapsedH = (Date.now() - started) / 3_600_000
  const res = await fetch(`${server.http}/admin/rooms?limit=1000`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })
  const { rooms } = (await res.json()) as { rooms: { room: string; seq: number; cost: Record<string, number> }[] }
  const stats = (await (await fetch(`${server.http}/admin/stats`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as {
    registry: { reports: number }
  }
  console.log(`registry cost, ${SECONDS} s of each habit in wrangler dev (workerd), scaled to one hour:\n`)
  // The first start and its report happen once per room, not per hour: the hourly rates leave them out.
  console.log('| room | messages | reports | reports/h | flush alarms | alarms/h | wake-ups | wake-ups/h | in memory | pings answered asleep |')
  console.log('|---|---|---|---|---|---|---|---|---|---|')
  for (const habit of ['quiet', 'chat', 'busy', 'churn']) {
    const r = rooms.find((x) => x.room === room(habit))
    if (r === undefined) throw new Error(`room ${room(habit)} is not listed`)
    const c = r.cost
    const awake = c.awakeMs ?? 0
    const life = Date.now() - (c.since ?? started)
    const perHour = (n: number | undefined, once: number) => Math.round(Math.max(0, (n ?? 0) - once) / elapsedH)
    // Pings answered while a room slept are counted when it next runs: ask the room itself (which wakes it) for those.
    const detail = (await (await fetch(`${server.http}/admin/rooms/${r.room}`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).json()) as {
      cost: { autoResponses: number }
    }
    console.log(
      `| ${habit} | ${c.messages} | ${c.reports} | ${perHour(c.reports, 1)} | ${c.alarms} | ${perHour(c.alarms, 1)} | ${c.wakeUps} | ${perHour(c.wakeUps, 1)} | ${Math.round((100 * awake) / life)}% | ${detail.cost.autoResponses} |`,
    )
  }
  console.log(`\nregistry requests in all: ${stats.registry.reports} in ${(elapsedH * 3600).toFixed(0)} s`)
} finally {
  for (const t of timers) clearInterval(t)
  await Promise.all(clients.map((c) => c.close().catch(() => {})))
  await server.stop()
  removeDir(dir)
}
