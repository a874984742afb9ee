/**
 * One chaos run: publishers and members on two Node instances and one Deno
 * instance over one Redis (or a Redis Cluster), every client through a TCP proxy the run
 * controls, while a seeded schedule of faults plays (schedule.ts); then a
 * quiet end, and the exact check of what every client saw (verify.ts).
 * `npm run chaos` (run.ts) and test/chaos/chaos.test.ts both run this.
 */

import { writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startProxy } from '../support/tcp-proxy.ts'
import type { Placed } from './actors.ts'
import { HttpPublisher, Member, Publisher } from './actors.ts'
import type { RedisKind, Runtime } from './cluster.ts'
import { Cluster } from './cluster.ts'
import { Random } from './random.ts'
import type { Fault } from './schedule.ts'
import { CLUSTER_FAULTS, REDIS_CLUSTER_FAULTS, describeFault, planFaults } from './schedule.ts'
import type { Verdict } from './verify.ts'
import { verify } from './verify.ts'

/** What to run. */
export interface ChaosOptions {
  seed: number
  /** How long messages flow and faults play. */
  durationMs: number
  /** Each publisher's rate. */
  perSecond: number
  /** Rooms, each with three publishers and three members (one per instance, round the instances), and one HTTP publisher. */
  rooms: number
  runtimes: Runtime[]
  /** One Redis (default), or a Redis Cluster of 3 masters with a replica each, with its own faults instead of the Redis ones. */
  redis?: RedisKind
  /** Redis stays SIGSTOPped this long (a Redis Cluster master: `masterStopMs`). */
  redisStopMs: number
  /** A Redis Cluster master stays SIGSTOPped this long (default 5 s: past the 1 s node timeout and the election). */
  masterStopMs?: number
  /** Cluster faults left out of the plan (stop-master on a Redis Cluster breaks exactly-once: docs/delivery-guarantees.md). */
  without?: readonly Fault['kind'][]
  /** The quiet end: how long to wait for every publish to settle and every member to catch up. */
  settleMs: number
  /** HTTP publishes per second, per room. */
  httpPerSecond: number
  /** Progress lines (the schedule as it plays); default console.log. */
  log?: (line: string) => void
  /** Extra settings for every instance (to see the check fail: DEDUPE_WINDOW_MS=1 turns deduplication off in effect). */
  env?: Record<string, string>
}

/** The report of a run. */
export interface ChaosReport extends Verdict {
  seed: number
  durationMs: number
  faults: { fault: Fault; ok: boolean; note?: string }[]
  /** Reconnects (welcomes after the first) over all members. */
  rejoins: number
  http: { duplicates: number; retries: number }
  /** The client library's resends over all publishers, and how many of them the server acked as repeats. */
  resends: { sent: number; repeats: number }
  /** Wall time of the whole run, start to stop. */
  wallMs: number
}

const CLIENT_FAULT = new Set<Fault['kind']>(['reset', 'silence', 'cut-to-client', 'cut-to-server'])

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Run the chaos and check it. Every process and proxy it starts is stopped before it returns. */
export async function runChaos(o: ChaosOptions): Promise<ChaosReport> {
  const say = o.log ?? ((line: string) => console.log(line))
  const started = Date.now()
  const rng = new Random(o.seed)
  const kind = o.redis ?? 'single'
  say(
    `chaos: seed ${o.seed}, ${o.durationMs / 1000} s, ${o.rooms} room(s), instances ${o.runtimes.join(' + ')}${kind === 'cluster' ? ' over a Redis Cluster' : ''}, ${o.perSecond} msg/s per publisher`,
  )
  const cluster = await Cluster.start(o.runtimes, o.env, kind)
  const placed: Placed[] = []
  const publishers: Publisher[] = []
  const members: Member[] = []
  const https: HttpPublisher[] = []
  const faults: ChaosReport['faults'] = []
  /** Where a proxy sends new connections: its home, or while that is down, the next instance that is up. */
  const aim = (c: Placed) => {
    const n = cluster.instances.length
    for (let k = 0; k < n; k++) {
      const i = (c.home + k) % n
      const inst = cluster.instances[i]
      if (inst !== undefined && cluster.up(i)) return c.proxy.retarget(inst.port)
    }
  }
  const liveBase = () => {
    const up = cluster.instances.filter((_, i) => cluster.up(i))
    const inst = up.length === 0 ? undefined : rng.pick(up)
    return inst === undefined ? undefined : `http://127.0.0.1:${inst.port}`
  }
  let roomNames: string[] = []
  try {
    roomNames = await cluster.roomNames(`chaos-${o.seed.toString(36)}`, o.rooms)
    const perRoom = Math.max(3, cluster.instances.length)
    const homeOf = (k: number) => {
      const i = k % cluster.instances.length
      return { i, port: cluster.instances[i]?.port ?? 0 }
    }
    for (const [r, room] of roomNames.entries()) {
      for (let k = 0; k < perRoom; k++) {
        const { i, port } = homeOf(k)
        const m = new Member(`M${r}.${k}`, room, await startProxy(port), i)
        members.push(m)
        placed.push(m)
      }
    }
    // Members first, welcomed, so they hold the rooms from seq 1.
    await waitFor(() => members.every((m) => m.welcomes > 0), 30_000, 'every member to be welcomed')
    for (const [r, room] of roomNames.entries()) {
      for (let k = 0; k < perRoom; k++) {
        const { i, port } = homeOf(k)
        const p = new Publisher(`P${r}.${k}`, room, await startProxy(port), i)
        publishers.push(p)
        placed.push(p)
      }
      https.push(new HttpPublisher(`H${r}`, room, liveBase))
    }

    const clusterFaults = (
      cluster.redisCluster !== undefined
        ? REDIS_CLUSTER_FAULTS
        : cluster.redis === undefined
          ? CLUSTER_FAULTS.filter((k) => k === 'kill-instance')
          : CLUSTER_FAULTS
    ).filter((k) => !(o.without ?? []).includes(k))
    const plan = planFaults(rng, {
      durationMs: o.durationMs,
      clients: placed.length,
      instances: cluster.instances.length,
      redisStopMs: o.redisStopMs,
      rooms: o.rooms,
      masterStopMs: o.masterStopMs ?? 5000,
      clusterFaults,
    })
    say(`chaos: ${plan.length} faults planned; clients 0..${placed.length - 1} are ${placed.map((c) => c.name).join(' ')}`)
    const t0 = Date.now()
    const until = t0 + o.durationMs
    const maxPerPublisher = Math.ceil((o.durationMs / 1000) * o.perSecond) + 10
    const flowing = [
      ...publishers.map((p) => p.run(until, o.perSecond, maxPerPublisher)),
      ...https.map((h) => h.run(until, o.httpPerSecond, Math.ceil((o.durationMs / 1000) * o.httpPerSecond) + 10)),
    ]
    // Cluster faults one at a time: one whose time came waits for the one before to have recovered (a failover
    // can take longer than planned); client faults play on time meanwhile.
    let clusterChain: Promise<void> = Promise.resolve()
    const cluster_faults: Promise<void>[] = []
    const play = (fault: Fault, entry: ChaosReport['faults'][number]) =>
      inject(fault).then(
        (note) => {
          if (note !== undefined) {
            entry.note = note
            say(`chaos:   ${describeFault(fault)}: ${note}`)
          }
        },
        (err: unknown) => {
          entry.ok = false
          entry.note = String(err)
          say(`chaos: fault failed: ${describeFault(fault)}: ${String(err)}`)
        },
      )
    for (const fault of plan) {
      const wait = t0 + fault.at - Date.now()
      if (wait > 0) await sleep(wait)
      const entry: ChaosReport['faults'][number] = { fault, ok: true }
      if (!CLIENT_FAULT.has(fault.kind)) {
        // Past the end of publishing it would only hit the quiet end: left out.
        const previous = clusterChain
        clusterChain = previous.then(async () => {
          if (Date.now() > until - 2000) return
          faults.push(entry)
          say(
            `chaos: ${describeFault(fault)}${Date.now() - t0 - fault.at > 1000 ? ` (at t+${((Date.now() - t0) / 1000).toFixed(1)}s, after the fault before)` : ''}`,
          )
          await play(fault, entry)
        })
        cluster_faults.push(clusterChain)
        continue
      }
      faults.push(entry)
      say(`chaos: ${describeFault(fault)}`)
      void play(fault, entry)
    }
    await Promise.all(cluster_faults)
    await Promise.all(flowing)
    say(`chaos: publishing stopped after ${((Date.now() - t0) / 1000).toFixed(1)} s; settling`)

    // The quiet end: everything up, every proxy to its home; silent connections are given up by the clients' pings.
    for (const [i] of cluster.instances.entries()) if (!cluster.up(i)) await cluster.restart(i)
    for (const c of placed) aim(c)
    const settleBy = Date.now() + o.settleMs
    const outcomes = () => [...publishers.flatMap((p) => p.outcomes), ...https.flatMap((h) => h.outcomes)]
    await waitFor(() => outcomes().every((x) => x.settles > 0), settleBy - Date.now(), 'every publish to settle').catch((err) => say(`chaos: ${err}`))
    const heads: Record<string, number> = {}
    const readHeads = async () => {
      for (const room of roomNames) heads[room] = await headOf(cluster, room)
    }
    await readHeads()
    await waitFor(
      () => members.every((m) => m.client.lastSeq >= (heads[m.room] ?? 0) && m.got.length >= (heads[m.room] ?? 0)),
      settleBy - Date.now(),
      'every member to catch up',
    ).catch((err) => say(`chaos: ${err}`))
    await readHeads()
    const verdict = verify(
      outcomes(),
      members.map((m) => ({ name: m.name, room: m.room, got: m.got, missed: m.missed.length })),
      heads,
    )
    const failedFaults = faults.filter((f) => !f.ok)
    for (const f of failedFaults) verdict.violations.push(`fault did not run: ${describeFault(f.fault)}: ${f.note}`)
    const crashes = /Unhandled|TypeError|ReferenceError|RangeError/.exec(cluster.output())
    if (crashes !== null) verdict.violations.push(`an instance printed ${crashes[0]}: see its output`)
    if (verdict.violations.length > 0) {
      // What each instance says about itself now (a room it still refuses is named there), and everything it printed.
      for (const [i, inst] of cluster.instances.entries()) {
        if (!cluster.up(i)) continue
        const health = await fetch(`http://127.0.0.1:${inst.port}/healthz`, { signal: AbortSignal.timeout(3000) })
          .then((r) => r.text())
          .catch((err: unknown) => String(err))
        say(`chaos: ${inst.name} /healthz: ${health}`)
      }
      const file = join(tmpdir(), `roomcast-chaos-${o.seed}-${process.pid}.log`)
      writeFileSync(file, cluster.output())
      say(cluster.output().slice(-20_000))
      say(`chaos: every instance's whole output is in ${file}`)
    }
    return {
      ...verdict,
      seed: o.seed,
      durationMs: o.durationMs,
      faults,
      rejoins: members.reduce((n, m) => n + m.welcomes - 1, 0),
      http: { duplicates: https.reduce((n, h) => n + h.duplicates, 0), retries: https.reduce((n, h) => n + h.retries, 0) },
      resends: {
        sent: publishers.reduce((n, p) => n + p.client.resends.sent, 0),
        repeats: publishers.reduce((n, p) => n + p.client.resends.repeats, 0),
      },
      wallMs: Date.now() - started,
    }
  } finally {
    await Promise.all([...publishers, ...members].map((c) => c.client.close()))
    await Promise.all(placed.map((c) => c.proxy.close()))
    await cluster.stop()
  }

  async function inject(f: Fault): Promise<string | undefined> {
    const room = roomNames[f.target ?? 0] ?? ''
    switch (f.kind) {
      case 'reset':
        placed[f.target ?? 0]?.proxy.drop()
        return
      case 'silence':
        placed[f.target ?? 0]?.proxy.cut('both')
        return
      case 'cut-to-client':
        placed[f.target ?? 0]?.proxy.cut('toClient')
        return
      case 'cut-to-server':
        placed[f.target ?? 0]?.proxy.cut('toServer')
        return
      case 'kill-instance': {
        const i = f.target ?? 0
        await cluster.kill(i)
        // A load balancer moves on: new connections of its clients go to another instance meanwhile.
        for (const c of placed) aim(c)
        await sleep(f.durationMs ?? 1000)
        await cluster.restart(i)
        for (const c of placed) aim(c)
        return
      }
      case 'stop-redis':
        return cluster.stopRedis(f.durationMs ?? 8000).then(() => undefined)
      case 'restart-redis':
        return cluster.restartRedis().then(() => undefined)
      case 'kill-master':
        return cluster.killMaster(room, f.durationMs ?? 1000)
      case 'stop-master':
        return cluster.stopMaster(room, f.durationMs ?? 5000)
      case 'kill-replica':
        return cluster.killReplica(room, f.durationMs ?? 1000)
      case 'move-slot':
        return cluster.moveSlot(room, f.to ?? 0)
    }
  }
}

/** The room's head, asked of an instance that answers (bounded). */
async function headOf(cluster: Cluster, room: string): Promise<number> {
  const deadline = Date.now() + 20_000
  for (;;) {
    for (const [i, inst] of cluster.instances.entries()) {
      if (!cluster.up(i)) continue
      try {
        const res = await fetch(`http://127.0.0.1:${inst.port}/rooms/${room}`, { signal: AbortSignal.timeout(3000) })
        if (res.ok) return ((await res.json()) as { seq: number }).seq
        await res.body?.cancel()
      } catch {
        // The next instance, or the next round.
      }
    }
    if (Date.now() > deadline) throw new Error(`no instance told the head of ${room}`)
    await sleep(200)
  }
}

/** Poll until `cond` holds; rejects after `ms` naming `what`. */
async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + Math.max(0, ms)
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(100)
  }
}

/** The report as lines: seed, counts, faults. */
export function formatReport(r: ChaosReport): string {
  const c = r.counts
  const rejected =
    Object.entries(c.rejected)
      .map(([code, n]) => `${code} ${n}`)
      .join(', ') || 'none'
  const kinds = new Map<string, number>()
  for (const { fault } of r.faults) kinds.set(fault.kind, (kinds.get(fault.kind) ?? 0) + 1)
  return [
    `chaos report (seed ${r.seed}; reproduce with --seed ${r.seed})`,
    `  ran ${(r.durationMs / 1000).toFixed(0)} s of faults, ${(r.wallMs / 1000).toFixed(0)} s in all`,
    `  publishes ${c.publishes}: resolved ${c.resolved}, rejected: ${rejected}`,
    `  outcome-open rejections: ${c.openPublished} published after all, ${c.openNotPublished} not`,
    `  client library: ${r.resends.sent} resends, ${r.resends.repeats} acked as repeats (duplicate:true: the first attempt had gone through)`,
    `  HTTP: ${r.http.retries} retries, ${r.http.duplicates} answered as repeats (202 duplicate)`,
    `  rooms: ${Object.entries(c.heads)
      .map(([room, seq]) => `${room} head ${seq}`)
      .join(', ')}`,
    `  members: ${Object.entries(c.received)
      .map(([m, n]) => `${m} ${n}`)
      .join(', ')}; ${r.rejoins} rejoins`,
    `  faults ${r.faults.length}: ${[...kinds].map(([k, n]) => `${k} ${n}`).join(', ')}`,
    ...r.faults.map((f) => `    ${describeFault(f.fault)}${f.ok ? '' : ` FAILED: ${f.note}`}`),
    r.violations.length === 0 ? '  every check held' : `  VIOLATIONS (${r.violations.length}):`,
    ...r.violations.map((v) => `    ${v}`),
  ].join('\n')
}
