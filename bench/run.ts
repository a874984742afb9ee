/**
 * `npm run bench [-- --quick] [-- --runtime=node,deno,bun] [-- --n=100,1000] [-- --window=small|K] [-- --light]`:
 * the fan-out benchmark. Starts each server itself (fresh per cell), drives N
 * members and one publisher from a separate client process, reads the
 * server's CPU and memory from /proc, and writes bench/RESULTS.md and
 * bench/results.json.
 */

import type { ChildProcess } from 'node:child_process'
import { fork, spawn } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { cpus } from 'node:os'
import type { Command, PhaseResult } from './client.ts'
import { cpuMs, loadAverage, settledRssKiB } from './proc.ts'
import type { Plan, Row, Run } from './report.ts'
import { renderMarkdown } from './report.ts'
import type { Runtime, Target } from './targets.ts'
import { compareTarget, targets } from './targets.ts'

const args = process.argv.slice(2)
const quick = args.includes('--quick')
const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1]

const light = args.includes('--light')
const windowFlag = flag('window')

const plan: Plan = {
  quick,
  ns: (flag('n') ?? (quick ? '100,1000' : '100,1000,5000')).split(',').map(Number),
  sizes: (flag('size') ?? '64,1024').split(',').map(Number),
  runtimes: (flag('runtime') ?? 'node,deno,bun').split(',') as Runtime[],
  // Each throughput phase stops at whichever comes first: this many deliveries, or this long publishing.
  maxDeliveries: quick ? 1_000_000 : 3_000_000,
  publishMs: quick ? 1200 : 2000,
  // --light: a large room at a modest rate, where nothing batches and a lone broadcast's own fan-out is the latency.
  latencyRate: Number(flag('rate') ?? (light ? 1 : 200)),
  latencyCount: Number(flag('count') ?? (light ? 20 : quick ? 200 : 400)),
  latencyMaxN: light ? 1_000_000 : 1000,
  window: windowFlag ?? 'default',
  light,
}

/**
 * Messages in flight (published, not yet received by every member). The default keeps the server busy, bounded
 * in bytes; `--window=small` is max(4, 40000/N), the outside benchmark's, where few messages batch per turn in a
 * large room; `--window=K` is K at every N.
 */
function windowFor(n: number): number {
  if (plan.window === 'small') return Math.max(4, Math.floor(40_000 / n))
  if (plan.window !== 'default') return Number(plan.window)
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

const profileDir = flag('profile')
const straceDir = flag('strace')
const perfDir = flag('perf')
const syscallsDir = flag('syscalls')
const SYSCALLS = ['write', 'writev', 'sendto', 'sendmsg', 'read', 'recvfrom', 'epoll_wait', 'epoll_pwait', 'epoll_pwait2']
if (profileDir !== undefined) process.env.BENCH_PROFILE_DIR = profileDir

/**
 * --profile=DIR: a CPU profile of each measured throughput phase of a Node server (bench/profile-hook.ts).
 * --strace=DIR: `strace -c -f` attached to the server for the phase; the summary goes to DIR, and the syscalls
 * per delivery are printed (strace slows the server a lot: its throughput figures mean nothing then).
 * --perf=DIR: `perf record -g` of the server for the phase, into DIR/<cell>.perf.data (`perf report -i`).
 * --syscalls=DIR: the server's syscalls counted by `perf stat` on their tracepoints (cheap, unlike strace):
 * writes per message, deliveries per write and per loop turn.
 */
async function startDiagnostics(target: Target, pid: number, label: string): Promise<{ stop(r: PhaseResult): Promise<void> }> {
  const profiling = profileDir !== undefined && target.runtime === 'node'
  if (profiling) process.kill(pid, 'SIGUSR2')
  let strace: ChildProcess | undefined
  const straceFile = `${straceDir}/${label}.strace`
  if (straceDir !== undefined) {
    strace = spawn('strace', ['-c', '-f', '-p', String(pid), '-o', straceFile], { stdio: 'ignore' })
    await sleep(500)
  }
  let counts: ChildProcess | undefined
  const countsFile = `${syscallsDir}/${label}.perf-stat`
  if (syscallsDir !== undefined) {
    const events = SYSCALLS.map((c) => `syscalls:sys_enter_${c}`).join(',')
    counts = spawn('perf', ['stat', '-x', ',', '-e', events, '-p', String(pid), '-o', countsFile], { stdio: 'ignore' })
    await sleep(300)
  }
  let perf: ChildProcess | undefined
  if (perfDir !== undefined) {
    perf = spawn('perf', ['record', '-F', '1999', '-g', '-p', String(pid), '-o', `${perfDir}/${label}.perf.data`], { stdio: 'ignore' })
    await sleep(300)
  }
  return {
    async stop(r: PhaseResult) {
      if (profiling) process.kill(pid, 'SIGUSR2')
      if (perf !== undefined) {
        const exited = new Promise((res) => perf?.once('exit', res))
        perf.kill('SIGINT')
        await Promise.race([exited, sleep(10_000)])
      }
      if (counts !== undefined) {
        const exited = new Promise((res) => counts?.once('exit', res))
        counts.kill('SIGINT')
        await Promise.race([exited, sleep(5000)])
        const n: Record<string, number> = {}
        for (const line of readFileSync(countsFile, 'utf8').split('\n')) {
          const [value, , event] = line.split(',')
          const name = event?.replace('syscalls:sys_enter_', '')
          if (name !== undefined && value !== undefined) n[name] = Number(value)
        }
        const writes = (n.write ?? 0) + (n.writev ?? 0) + (n.sendto ?? 0) + (n.sendmsg ?? 0)
        const waits = (n.epoll_wait ?? 0) + (n.epoll_pwait ?? 0) + (n.epoll_pwait2 ?? 0)
        console.log(
          `  syscalls ${label}: ${SYSCALLS.map((c) => `${c} ${n[c] ?? 0}`).join(', ')}; ${(r.deliveries / Math.max(1, writes)).toFixed(2)} deliveries per write, ` +
            `${(writes / Math.max(1, r.published)).toFixed(0)} writes per message, ${(r.deliveries / Math.max(1, waits)).toFixed(0)} deliveries per loop turn (epoll wait)`,
        )
      }
      if (strace !== undefined) {
        const exited = new Promise((res) => strace?.once('exit', res))
        strace.kill('SIGINT')
        await Promise.race([exited, sleep(5000)])
        const text = readFileSync(straceFile, 'utf8')
        const calls = (name: string) => Number(new RegExp(`^\\s*[\\d.]+\\s+[\\d.]+\\s+\\d+\\s+(\\d+)\\s+(?:\\d+\\s+)?${name}$`, 'm').exec(text)?.[1] ?? 0)
        const writes = calls('writev') + calls('write') + calls('sendto') + calls('sendmsg')
        console.log(
          `  strace ${label}: ${writes} writes (writev ${calls('writev')}, write ${calls('write')}, sendto ${calls('sendto')}, sendmsg ${calls('sendmsg')}) ` +
            `for ${r.deliveries} deliveries of ${r.published} messages: ${(r.deliveries / Math.max(1, writes)).toFixed(2)} deliveries per write; ` +
            `epoll_wait ${calls('epoll_wait') + calls('epoll_pwait')}, read ${calls('read')}`,
        )
      }
      if (profiling) await sleep(1000)
    },
  }
}

/** The row of a --light cell, filled in by its latency phase. */
function latencyRow(target: Target, mode: 'raw' | 'json' | 'v2', n: number, size: number, window: number, memPerConnKiB: number): Row {
  return {
    runtime: target.runtime,
    server: target.name,
    role: target.role,
    mode,
    n,
    size,
    window,
    published: 0,
    deliveries: 0,
    deliveriesPerSec: 0,
    lost: 0,
    duplicated: 0,
    reordered: 0,
    strange: 0,
    memPerConnKiB,
    serverUsPerDelivery: 0,
    clientUsPerDelivery: 0,
    serverUtil: 0,
    clientUtil: 0,
    saturated: 'neither',
  }
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
    for (const size of plan.light ? [] : plan.sizes) {
      const diag = await startDiagnostics(target, pid, `${target.runtime}-${target.role}-${mode}-${n}-${size}`)
      const c0 = cpuMs(pid)
      const r = await client.call<PhaseResult>({ op: 'throughput', size, messages, window, publishMs: plan.publishMs, stallMs: STALL_MS }, 120_000)
      const serverCpuMs = cpuMs(pid) - c0
      await diag.stop(r)
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
    // The latency figures join the row of the first size, measured at that size (in --light mode, a row of their own).
    const size = plan.sizes[0] ?? 64
    if (plan.light) rows.push(latencyRow(target, mode, n, size, window, memPerConnKiB))
    const row = rows[0]
    if (n <= plan.latencyMaxN && row !== undefined) {
      // In --light mode the latency phase is the measured one, so the diagnostics wrap it.
      const diag = plan.light ? await startDiagnostics(target, pid, `${target.runtime}-${target.role}-${mode}-${n}-${size}-light`) : undefined
      const c0 = cpuMs(pid)
      const timeoutMs = 60_000 + (plan.latencyCount / plan.latencyRate) * 1000
      const l = await client.call<PhaseResult>(
        { op: 'latency', size: row.size, rate: plan.latencyRate, count: plan.latencyCount, stallMs: STALL_MS },
        timeoutMs,
      )
      await diag?.stop(l)
      if (plan.light) {
        const serverCpuMs = cpuMs(pid) - c0
        row.published = l.published
        row.deliveries = l.deliveries
        row.deliveriesPerSec = l.deliveries / (l.wallMs / 1000)
        row.serverUsPerDelivery = (serverCpuMs * 1000) / Math.max(1, l.deliveries)
        row.clientUsPerDelivery = (l.clientCpuMs * 1000) / Math.max(1, l.deliveries)
        row.serverUtil = serverCpuMs / l.wallMs
        row.clientUtil = l.clientCpuMs / l.wallMs
        row.saturated = saturated(row.serverUtil, row.clientUtil)
        row.lost = 0
      }
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
      const compare = flag('compare')
      if (compare !== undefined && runtime === 'node') group.push(compareTarget(compare))
      if (group.length === 0) {
        failures.push(`${runtime}: no targets (adapter not available on this branch)`)
        continue
      }
      for (const n of plan.ns) {
        // Baseline and roomcast side by side for each N, so they see the same machine load.
        for (const target of group) {
          // --server=roomcast or --server=baseline, --mode=raw or json: narrow a run down further.
          if (flag('server') !== undefined && flag('server') !== target.role) continue
          // --targets=node:roomcast,bun:baseline: runtime:role pairs, for a run of just the cells compared.
          const only = flag('targets')?.split(',')
          if (only !== undefined && !only.includes(`${target.runtime}:${target.role}`)) continue
          for (const mode of target.modes) {
            if (flag('mode') !== undefined && flag('mode') !== mode) continue
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
  // --out=FILE.md writes elsewhere (FILE.json beside it), so exploratory runs leave the recorded RESULTS.md alone.
  const out = flag('out') ?? 'bench/RESULTS.md'
  writeFileSync(out === 'bench/RESULTS.md' ? 'bench/results.json' : out.replace(/\.md$/, '.json'), JSON.stringify(run, null, 2) + '\n')
  const md = renderMarkdown(run)
  writeFileSync(out, md)
  console.log('\n' + md)
  if (failures.length > 0) process.exitCode = 1
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
