/**
 * `npx tsx bench/presence-storm.ts [--max=1000]`: issue 13's presence storm, in process. A 5,000-member room where
 * every member is a v2 subscription with presence; then, within one second, 500 subs join and 500 leave. Counts
 * the presence frames and bytes the core sends (to counting connections: no network, so this is the core's cost)
 * and the process CPU, from the first join until the last leave has been told (after PRESENCE_GRACE_MS).
 */

import { Hub, Session } from '../src/index.ts'
import { Counting, N, STORM, config, counter, exp, max, sleep, totals } from './presence-shared.ts'

const hub = new Hub({ config })

function enter(i: number): Session {
  const s = new Session(hub, new Counting(), { sub: `user-${i}`, rooms: ['*'], pub: true, exp }, { now: Date.now, setTimeout, clearTimeout } as never)
  s.open()
  s.receive(JSON.stringify({ type: 'subscribe', room: 'storm', presence: true }))
  return s
}

const sessions: Session[] = []
for (let i = 0; i < N; i++) sessions.push(enter(i))
await sleep(config.presenceIntervalMs * 3)
console.log(
  `room: ${hub.room('storm').size} members, PRESENCE_MAX_MEMBERS=${max}, PRESENCE_INTERVAL_MS=${config.presenceIntervalMs}, PRESENCE_GRACE_MS=${config.presenceGraceMs}`,
)

counter.on = true
const cpu0 = process.cpuUsage()
const t0 = performance.now()
for (let k = 0; k < STORM; k++) {
  sessions.push(enter(N + k))
  sessions[k]?.socketClosed()
  if (k % 10 === 9) await sleep(20) // 500 joins and 500 leaves spread over about one second
}
const stormMs = performance.now() - t0
await sleep(config.presenceGraceMs + config.presenceIntervalMs * 3)
const cpu = process.cpuUsage(cpu0)
counter.on = false
const perMember = totals.frames / N
console.log(`storm: ${STORM} joins + ${STORM} leaves in ${Math.round(stormMs)} ms; counted until every leave was told (+grace)`)
console.log(
  `presence frames: ${totals.frames.toLocaleString('en')} (${perMember.toFixed(1)} per member): ${totals.states} rosters to the joiners (${(totals.stateBytes / 1e6).toFixed(1)} MB), ${totals.diffs.toLocaleString('en')} diffs`,
)
console.log(`presence bytes: ${(totals.bytes / 1e6).toFixed(1)} MB; CPU (user+system, whole process): ${Math.round((cpu.user + cpu.system) / 1000)} ms`)
process.exit(0)
