/**
 * `npm run bench [-- --quick] [-- --runtime=node,deno,bun] [-- --n=100,1000]`:
 * the fan-out benchmark. Starts each server itself (fresh per cell), drives N
 * members and one publisher from a separate client process, reads the
 * server's CPU and memory from /proc, and writes bench/RESULTS.md and
 * bench/results.json.
 */

import type { ChildProcess } from 'node:child_process'
import { fork } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import type { Command, PhaseResult } from './client.ts'
import { cpuMs, loadAverage, settledRssKiB } from './proc.ts'
import type { Plan, Row, Run } from './report.ts'
import { renderMarkdown } from './report.ts'
import type { Runtime, Target } from './targets.ts'
import { targets } from './targets.ts'

const args = process.argv.slice(2)
const quick = args.includes('--quick')
const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1]

const plan: Plan = {
  quick,
  ns: (flag('n') ?? (quick ? '100,1000' : '100,1000,5000')).split(',').map(Number),
  sizes: [64, 1024],
  runtimes: (flag('runtime') ?? 'node,deno,bun').split(',') as Runtime[],
  // Each throughput phase stops at whichever comes first: this many deliveries, or this long publishing.
  maxDeliveries: quick ? 1_000_000 : 3_000_000,
  publishMs: quick ? 1200 : 2000,
  latencyRate: 200,
  latencyCount: quick ? 200 : 400,
  latencyMaxN: 1000,
}

/** Messages in flight (published, not yet received by every member): enough to keep the server busy, bounded in bytes. */
function windowFor(n: number): number {
  return Math.min(256, Math.max(8, 2 ** Math.round(Math.log2(64_000 / n))))
}

/** The load generator process, one request at a time. */
class LoadClient {
  private readonly proc: ChildProcess
  private pending: { resolve: (v: unknown) => void; reject: (e: Error) => void } | null = null

  constructor() {
    this.proc = fork('bench/client.ts', [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    this.proc.on('message', (msg: { ok: boolean; result?: unknown; error?: string }) => {
      const p = this.pending
      this.pending = null
      if (p === null) return
      if (msg.ok) p.resolve(msg.result)
      else p.reject(new Error(`client: ${msg.error}`))
    })
    this.proc.on('exit', (code) => this.pending?.reject(new Error(`client exited with ${code}`)))
  }

  get pid(): number {
    return this.proc.pid as number
  }

  call<T>(cmd: Command, timeoutMs: number): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`client: ${cmd.op} took over ${timeoutMs} ms`)), timeoutMs)
      this.pending = {
        resolve: (v) => {
          clearTimeout(timer)
          resolve(v as T)
        },
        reject: (e) => {
          clearTimeout(timer)
          reject(e)
        },
      }
      this.proc.send(cmd)
    })
  }

  stop(): void {
    this.proc.kill('SIGTERM')
  }
}

/** A phase ends when every delivery arrived, or when none arrived for this long (what is missing then is lost). */
const STALL_MS = 5000

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

function saturated(serverUtil: number, clientUtil: number): Row['saturated'] {
  const s = serverUtil >= 0.8
  const c = clientUtil >= 0.8
  return s && c ? 'both' : s ? 'server' : c ? 'client' : 'neither'
}

/** One server, one mode, one N: connect, measure memory, then throughput per size and latency. */
async function cell(client: LoadClient, target: Target, mode: 'raw' | 'json' | 'v2', n: number): Promise<Row[]> {
  const server = await target.start()
  const pid = server.proc.pid as number
  const rows: Row[] = []
  try {
    const connect = (count: number) =>
      client.call({ op: 'connect', host: '127.0.0.1', port: server.port, path: target.path, count, mode, room: 'bench' }, 180_000)
    // Memory per idle member: RSS growth over N / N, after a first small round so loading and compiling the upgrade path stay out.
    await connect(Math.min(100, n))
    await client.call({ op: 'close' }, 30_000)
    const rss0 = await settledRssKiB(pid)
    await connect(n)
    await sleep(300)
    const memPerConnKiB = ((await settledRssKiB(pid)) - rss0) / n
    await client.call({ op: 'warm' }, 120_000)
    const window = windowFor(n)
    const messages = Math.ceil(plan.maxDeliveries / n)
    // Warm the JIT on both sides; not measured.
    await client.call({ op: 'throughput', size: 64, messages, window, publishMs: 300, stallMs: STALL_MS }, 120_000)
    for (const size of plan.sizes) {
      const c0 = cpuMs(pid)
      const r = await client.call<PhaseResult>({ op: 'throughput', size, messages, window, publishMs: plan.publishMs, stallMs: STALL_MS }, 120_000)
      const serverCpuMs = cpuMs(pid) - c0
      const serverUtil = serverCpuMs / r.wallMs
      const clientUtil = r.clientCpuMs / r.wallMs
      const row: Row = {
        runtime: target.runtime,
        server: target.name,
        role: target.role,
        mode,
        n,
        size,
        window,
        published: r.published,
        deliveries: r.deliveries,
        deliveriesPerSec: r.deliveries / (r.wallMs / 1000),
        lost: r.lost,
        duplicated: r.duplicated,
        reordered: r.reordered,
        strange: r.strange,
        memPerConnKiB,
        serverUsPerDelivery: (serverCpuMs * 1000) / Math.max(1, r.deliveries),
        clientUsPerDelivery: (r.clientCpuMs * 1000) / Math.max(1, r.deliveries),
        serverUtil,
        clientUtil,
        saturated: saturated(serverUtil, clientUtil),
      }
      if (r.strange > 0) console.error(`  ${r.strange} unreadable frames, first: ${r.strangeSample}`)
      rows.push(row)
    }
    // Latency last, at a fixed rate a slow server may not sustain; its tail then cannot spill into a throughput phase.
    // The latency figures join the row of the first size, measured at that size.
    const row = rows[0]
    if (n <= plan.latencyMaxN && row !== undefined) {
      const l = await client.call<PhaseResult>({ op: 'latency', size: row.size, rate: plan.latencyRate, count: plan.latencyCount, stallMs: STALL_MS }, 180_000)
      row.p50 = l.p50
      row.p99 = l.p99
      row.lost += l.lost
      row.duplicated += l.duplicated
      row.reordered += l.reordered
    }
    for (const row of rows) {
      console.log(
        `  ${target.runtime} ${target.name} ${mode} N=${n} ${row.size} B: ${Math.round(row.deliveriesPerSec).toLocaleString('en')}/s` +
          ` lost ${row.lost} dup ${row.duplicated} server ${row.serverUsPerDelivery.toFixed(2)} µs/del (${Math.round(row.serverUtil * 100)}% cpu)` +
          ` client ${row.clientUsPerDelivery.toFixed(2)} µs/del (${Math.round(row.clientUtil * 100)}%)` +
          (row.p50 !== undefined && row.p99 !== undefined ? ` p50 ${row.p50.toFixed(2)} p99 ${row.p99.toFixed(2)} ms` : '') +
          ` mem ${memPerConnKiB.toFixed(1)} KiB/conn`,
      )
    }
  } finally {
    await client.call({ op: 'close' }, 30_000).catch(() => {})
    await server.stop()
  }
  return rows
}

async function main(): Promise<void> {
  const started = new Date()
  const t0 = performance.now()
  const load0 = loadAverage()
  const client = new LoadClient()
  const rows: Row[] = []
  const failures: string[] = []
  try {
    for (const runtime of plan.runtimes) {
      const group = targets.filter((t) => t.runtime === runtime)
      if (group.length === 0) {
        failures.push(`${runtime}: no targets (adapter not available on this branch)`)
        continue
      }
      for (const n of plan.ns) {
        // Baseline and roomcast side by side for each N, so they see the same machine load.
        for (const target of group) {
          for (const mode of target.modes) {
            console.log(`${runtime} / ${target.name} / ${mode} / N=${n}`)
            try {
              rows.push(...(await cell(client, target, mode, n)))
            } catch (err) {
              const msg = `${runtime} ${target.name} ${mode} N=${n}: ${(err as Error).message.split('\n')[0]}`
              console.error(`  FAILED ${msg}`)
              failures.push(msg)
            }
          }
        }
      }
    }
  } finally {
    client.stop()
  }
  const run: Run = {
    started: started.toISOString(),
    seconds: (performance.now() - t0) / 1000,
    command: `npm run bench${args.length > 0 ? ' -- ' + args.join(' ') : ''}`,
    machine: `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`,
    loadBefore: load0,
    loadAfter: loadAverage(),
    plan,
    rows,
    failures,
  }
  writeFileSync('bench/results.json', JSON.stringify(run, null, 2) + '\n')
  const md = renderMarkdown(run)
  writeFileSync('bench/RESULTS.md', md)
  console.log('\n' + md)
  if (failures.length > 0) process.exitCode = 1
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
