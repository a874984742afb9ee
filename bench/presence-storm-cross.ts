/**
 * `npx tsx bench/presence-storm-cross.ts [--max=1000]`: issue 13's presence storm across two instances. Two hubs in this
 * process, each with its own RedisBackend (own instance id, own connections) on a redis-server this bench starts (so
 * INFO commandstats counts only this room's commands), stopped by PID at the end. A 5,000-member room, 2,500 v2
 * subscriptions with presence on each instance, each its own sub; then, within one second, 500 new subs join on B
 * and 500 of A's leave. Counts the presence frames and bytes the cores send (to counting connections: no network
 * to the members), the process CPU (both instances, their Redis clients; not redis-server), and the Redis commands
 * by kind, from the first join until the last leave has been told on both instances (after PRESENCE_GRACE_MS);
 * then a steady minute's worth of heartbeats' commands.
 */

import { Redis } from 'ioredis'
import { RedisBackend } from '../adapters/redis/backend.ts'
import { Hub, Session } from '../src/index.ts'
import { OwnRedis } from '../test/support/redis.ts'
import { Counting, N, STORM, config, counter, exp, max, sleep, totals } from './presence-shared.ts'

const HEARTBEAT_MS = 2000
const redis = await OwnRedis.start(false)
const admin = new Redis(redis.url)

function instance(): { hub: Hub; backend: RedisBackend } {
  const backend = new RedisBackend({ url: redis.url, prefix: 'bench:', limits: config, roomTtlMs: config.roomTtlMs, heartbeatMs: HEARTBEAT_MS, log: () => {} })
  return { hub: new Hub({ config, logs: backend.logs }), backend }
}

/** Calls per command since the last reset (INFO commandstats), the INFO calls themselves left out. */
async function commands(): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  for (const line of String(await admin.info('commandstats')).split('\n')) {
    const m = /^cmdstat_([^:]+):calls=(\d+)/.exec(line)
    if (m !== null && m[1] !== 'info' && m[1] !== 'config') out.set(m[1] as string, Number(m[2]))
  }
  return out
}

const show = (c: Map<string, number>) =>
  [...c]
    .sort((x, y) => y[1] - x[1])
    .map(([k, v]) => `${k} ${v.toLocaleString('en')}`)
    .join(', ')

const a = instance()
const b = instance()
await Promise.all([a.backend.whenUp(5000), b.backend.whenUp(5000)])

function enter(hub: Hub, i: number): Session {
  const s = new Session(hub, new Counting(), { sub: `user-${i}`, rooms: ['*'], pub: true, exp }, { now: Date.now, setTimeout, clearTimeout } as never)
  s.open()
  s.receive(JSON.stringify({ type: 'subscribe', room: 'storm', presence: true }))
  return s
}

const onA: Session[] = []
for (let i = 0; i < N; i++) (i % 2 === 0 ? onA : []).push(enter(i % 2 === 0 ? a.hub : b.hub, i))
// Let both rosters settle on all 5,000 (the other instance's part read or announced).
const settled = () => a.hub.room('storm').presencePage(1).connections === N && b.hub.room('storm').presencePage(1).connections === N
for (let i = 0; i < 200 && !settled(); i++) await sleep(50)
await sleep(HEARTBEAT_MS + 500)
const listed = (hub: Hub) => {
  let n = 0
  let cursor: string | undefined
  for (;;) {
    const p = hub.room('storm').presencePage(1000, cursor)
    n += p.members.length
    if (p.cursor === undefined) return n
    cursor = p.cursor
  }
}
console.log(
  `room: ${a.hub.room('storm').size} + ${b.hub.room('storm').size} members on A + B (rosters list ${listed(a.hub)} / ${listed(b.hub)}), PRESENCE_MAX_MEMBERS=${max}, PRESENCE_INTERVAL_MS=${config.presenceIntervalMs}, PRESENCE_GRACE_MS=${config.presenceGraceMs}, PRESENCE_HEARTBEAT_MS=${HEARTBEAT_MS}`,
)

await admin.config('RESETSTAT')
counter.on = true
const cpu0 = process.cpuUsage()
const t0 = performance.now()
for (let k = 0; k < STORM; k++) {
  enter(b.hub, N + k)
  onA[k]?.socketClosed()
  if (k % 10 === 9) await sleep(20) // 500 joins and 500 leaves spread over about one second
}
const stormMs = performance.now() - t0
const told = () =>
  listed(a.hub) === N &&
  listed(b.hub) === N &&
  !a.hub
    .room('storm')
    .presencePage(1)
    .members.some((m) => m.sub === 'user-0')
await sleep(config.presenceGraceMs)
for (let i = 0; i < 200 && !told(); i++) await sleep(20)
await sleep(config.presenceIntervalMs * 3)
const cpu = process.cpuUsage(cpu0)
const tookMs = performance.now() - t0
counter.on = false
const storm = await commands()
console.log(
  `storm: ${STORM} joins on B + ${STORM} leaves on A in ${Math.round(stormMs)} ms; counted ${Math.round(tookMs)} ms, until every leave was told on both (+grace)`,
)
console.log(
  `presence frames: ${totals.frames.toLocaleString('en')} (${(totals.frames / N).toFixed(1)} per member): ${totals.states} rosters to the joiners (${(totals.stateBytes / 1e6).toFixed(1)} MB), ${totals.diffs.toLocaleString('en')} diffs`,
)
console.log(
  `presence bytes: ${(totals.bytes / 1e6).toFixed(1)} MB; CPU (user+system, whole process: both instances): ${Math.round((cpu.user + cpu.system) / 1000)} ms`,
)
console.log(`redis commands during the storm: ${show(storm)}`)

await admin.config('RESETSTAT')
await sleep(5 * HEARTBEAT_MS)
console.log(`redis commands in a steady ${5 * HEARTBEAT_MS} ms (5 heartbeats, 2 instances, 1 room): ${show(await commands())}`)

await Promise.all([a.backend.close(), b.backend.close()])
admin.disconnect()
await redis.dispose()
process.exit(0)
