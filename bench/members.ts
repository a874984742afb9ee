/**
 * `npm run bench:members [-- --n=19000] [-- --runtime=node,bun,deno] [-- --procs=4] [-- --broadcasts=100]`:
 * one room of N members on one server process, for roomcast and the runtime's bare baseline (the ws loop, bare
 * Bun pub/sub, the bare Deno loop) side by side. The members are spread over several member processes
 * (bench/members-client.ts), each connecting from its own loopback address (127.2.<server>.2 and up) so ephemeral ports
 * do not run out; one publisher in this process. Per server: RSS per member, the time to connect them all, a
 * broadcast's time to its last member (p50/p99 over the broadcasts at each rate), deliveries per second in a
 * closed loop, and whether anything was lost. Writes bench/RESULTS-members.md (or --out=FILE.md) and FILE.json;
 * --profile=DIR adds CPU profiles of a Node server's connect phase and closed loop.
 * Linux only (reads /proc). Every wait is bounded; every process started is stopped by its PID.
 */
import type { ChildProcess } from 'node:child_process'
import { fork } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { cpus, totalmem } from 'node:os'
import type { DoneReport, MembersCommand, PhaseCounts } from './members-shared.ts'
import { bucketMs, sharedNow } from './members-shared.ts'
import { cpuMs, loadAverage, settledRssKiB } from './proc.ts'
import type { Runtime, Target } from './targets.ts'
import { compareTarget, targets } from './targets.ts'
import type { Member } from './wire.ts'
import { clientFrame, open } from './wire.ts'

const args = process.argv.slice(2)
const flag = (name: string) => args.find((a) => a.startsWith(`--${name}=`))?.split('=')[1]
const list = (name: string, fallback: string) => (flag(name) ?? fallback).split(',').filter((s) => s !== '')

const N = Number(flag('n') ?? 19_000)
const PROCS = Number(flag('procs') ?? 4)
const BROADCASTS = Number(flag('broadcasts') ?? 100)
const RATES = list('rates', '1,10').map(Number)
const SIZE = Number(flag('size') ?? 64)
/** Closed loop: messages in flight, max(4, 40000/N) unless told (the small-window case of issue 16). */
const WINDOW = Number(flag('window') ?? Math.max(4, Math.floor(40_000 / N)))
const CLOSED_MS = Number(flag('closed-ms') ?? 5000)
const RUNTIMES = list('runtime', 'node,bun,deno') as Runtime[]
const MODES = list('mode', 'raw') as ('raw' | 'json')[]
const SERVERS = list('server', 'baseline,roomcast')
const OUT = flag('out') ?? 'bench/RESULTS-members.md'
/** --profile=DIR: CPU profiles of a Node server's connect phase and closed loop (bench/profile-hook.ts, via SIGUSR2). */
const PROFILE = flag('profile')
if (PROFILE !== undefined) process.env.BENCH_PROFILE_DIR = PROFILE
/** A phase ends when every delivery arrived, or when none arrived for this long (what is missing then is lost). */
const STALL_MS = 10_000

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** One member process and its requests, answered in order. */
class MemberProcess {
  readonly proc: ChildProcess
  private seq = 0
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()

  constructor(
    readonly name: string,
    onDone: (r: DoneReport) => void,
  ) {
    this.proc = fork('bench/members-client.ts', [], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
    this.proc.on('message', (msg: { seq?: number; ok?: boolean; result?: unknown; error?: string } & Partial<DoneReport>) => {
      if (msg.done !== undefined) return onDone(msg as DoneReport)
      const p = msg.seq === undefined ? undefined : this.pending.get(msg.seq)
      if (p === undefined || msg.seq === undefined) return
      this.pending.delete(msg.seq)
      if (msg.ok === true) p.resolve(msg.result)
      else p.reject(new Error(`member process ${name}: ${msg.error}`))
    })
    this.proc.on('exit', (code) => {
      for (const p of this.pending.values()) p.reject(new Error(`member process ${name} exited with ${code}`))
      this.pending.clear()
    })
  }

  call<T>(cmd: MembersCommand, timeoutMs: number): Promise<T> {
    const seq = ++this.seq
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq)
        reject(new Error(`member process ${this.name}: ${cmd.op} took over ${timeoutMs} ms`))
      }, timeoutMs)
      this.pending.set(seq, {
        resolve: (v) => {
          clearTimeout(timer)
          resolve(v as T)
        },
        reject: (e) => {
          clearTimeout(timer)
          reject(e)
        },
      })
      this.proc.send({ seq, cmd })
    })
  }

  stop(): void {
    this.proc.kill('SIGTERM')
  }
}

/** Each message of a phase: when it was published, how many member processes it has reached all of, and the last arrival. */
interface Tracked {
  publishedAt: number
  procsDone: number
  lastAt: number
}

let tracked = new Map<number, Tracked>()
let completed = 0
let lastProgressAt = 0
let onComplete: (() => void) | null = null

function onDone(r: DoneReport): void {
  for (const { id, last } of r.done) {
    const t = tracked.get(id)
    if (t === undefined) continue
    t.procsDone++
    t.lastAt = Math.max(t.lastAt, last)
    lastProgressAt = performance.now()
    if (t.procsDone === PROCS) {
      completed++
      onComplete?.()
    }
  }
}

let nextId = 0

/** The payload of message `id`: its id and publish time on the shared clock (µs), padded to SIZE bytes. */
function payload(id: number): string {
  const head = 'I' + String(id).padStart(9, '0') + 'T' + String(Math.round(sharedNow() * 1000)).padStart(13, '0')
  return head + 'x'.repeat(Math.max(0, SIZE - head.length))
}

function publishFrame(text: string, mode: 'raw' | 'json'): Buffer {
  return clientFrame(Buffer.from(mode === 'json' ? `{"type":"publish","data":${JSON.stringify(text)}}` : text))
}

/** What one phase measured. */
interface PhaseResult {
  published: number
  deliveries: number
  expected: number
  lost: number
  duplicated: number
  reordered: number
  strange: number
  wallMs: number
  serverCpuMs: number
  /** Per broadcast, publish to its last member (ms). */
  lastMemberP50: number
  lastMemberP99: number
  /** Every delivery's publish-to-receive latency (ms). */
  deliveryP50: number
  deliveryP99: number
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? Number.NaN
}

function histogramQuantile(h: Map<number, number>, total: number, q: number): number {
  const keys = [...h.keys()].sort((a, b) => a - b)
  let seen = 0
  for (const k of keys) {
    seen += h.get(k) ?? 0
    if (seen > total * q) return bucketMs(k)
  }
  return Number.NaN
}

async function startPhase(procs: MemberProcess[], count: number): Promise<number> {
  const first = nextId + 1
  tracked = new Map()
  completed = 0
  await Promise.all(procs.map((p) => p.call({ op: 'phase', first, count }, 30_000)))
  return first
}

async function endPhase(procs: MemberProcess[], published: number, t0: number, serverCpuMs: number): Promise<PhaseResult> {
  while (completed < published && performance.now() - lastProgressAt < STALL_MS) await sleep(20)
  const counts = await Promise.all(procs.map((p) => p.call<PhaseCounts>({ op: 'result' }, 30_000)))
  const h = new Map<number, number>()
  let good = 0
  let lastAt = 0
  for (const c of counts) {
    good += c.good
    lastAt = Math.max(lastAt, c.lastAt)
    for (const [k, v] of Object.entries(c.histogram)) h.set(Number(k), (h.get(Number(k)) ?? 0) + v)
  }
  const toLast = [...tracked.values()].filter((t) => t.procsDone === PROCS).map((t) => t.lastAt - t.publishedAt)
  toLast.sort((a, b) => a - b)
  const expected = published * N
  return {
    published,
    deliveries: good,
    expected,
    lost: expected - good,
    duplicated: counts.reduce((a, c) => a + c.duplicated, 0),
    reordered: counts.reduce((a, c) => a + c.reordered, 0),
    strange: counts.reduce((a, c) => a + c.strange, 0),
    wallMs: lastAt - t0,
    serverCpuMs,
    lastMemberP50: quantile(toLast, 0.5),
    lastMemberP99: quantile(toLast, 0.99),
    deliveryP50: histogramQuantile(h, good, 0.5),
    deliveryP99: histogramQuantile(h, good, 0.99),
  }
}

/** `count` broadcasts at `rate` per second. */
async function fixedRate(procs: MemberProcess[], pub: Member, pid: number, mode: 'raw' | 'json', rate: number, count: number): Promise<PhaseResult> {
  const first = await startPhase(procs, count)
  const c0 = cpuMs(pid)
  const t0 = sharedNow()
  const start = performance.now()
  lastProgressAt = performance.now()
  for (let i = 0; i < count; i++) {
    const due = start + (i * 1000) / rate
    const wait = due - performance.now()
    if (wait > 1) await sleep(wait)
    const id = first + i
    tracked.set(id, { publishedAt: sharedNow(), procsDone: 0, lastAt: 0 })
    pub.socket.write(publishFrame(payload(id), mode))
  }
  nextId = first + count - 1
  const r = await endPhase(procs, count, t0, 0)
  r.serverCpuMs = cpuMs(pid) - c0
  return r
}

/** As fast as a window of WINDOW messages in flight allows, for CLOSED_MS. */
async function closedLoop(procs: MemberProcess[], pub: Member, pid: number, mode: 'raw' | 'json'): Promise<PhaseResult> {
  const max = Math.ceil(50_000_000 / N)
  const first = await startPhase(procs, max)
  const c0 = cpuMs(pid)
  const t0 = sharedNow()
  const stopAt = performance.now() + CLOSED_MS
  lastProgressAt = performance.now()
  let published = 0
  await new Promise<void>((settle) => {
    let resolve = settle
    let scheduled = false
    const pump = () => {
      scheduled = false
      if (published >= max || performance.now() >= stopAt) {
        onComplete = null
        return resolve()
      }
      const free = WINDOW - (published - completed)
      // Half a window at a time, so the publisher's writes carry several messages, as a busy room's would.
      if (free < Math.max(1, WINDOW >> 1)) return
      const frames: Buffer[] = []
      for (let k = 0; k < free && published < max; k++) {
        const id = first + published++
        tracked.set(id, { publishedAt: sharedNow(), procsDone: 0, lastAt: 0 })
        frames.push(publishFrame(payload(id), mode))
      }
      pub.socket.write(Buffer.concat(frames))
    }
    onComplete = () => {
      if (!scheduled) {
        scheduled = true
        setImmediate(pump)
      }
    }
    // A server still draining an earlier phase's backlog may complete nothing for a long time: stop on time anyway.
    const stopTimer = setTimeout(() => {
      onComplete = null
      resolve()
    }, CLOSED_MS + 100)
    const done = resolve
    resolve = () => {
      clearTimeout(stopTimer)
      done()
    }
    pump()
  })
  nextId = first + published - 1
  const r = await endPhase(procs, published, t0, 0)
  r.serverCpuMs = cpuMs(pid) - c0
  return r
}

/** Publish warm-ups until one has reached every member (joins may complete after the handshake). */
async function warmUp(procs: MemberProcess[], pub: Member, mode: 'raw' | 'json'): Promise<void> {
  const deadline = Date.now() + 120_000
  for (let sent = 1; ; sent++) {
    pub.socket.write(publishFrame('W' + String(sent).padStart(9, '0'), mode))
    await sleep(1000)
    const mins = await Promise.all(procs.map((p) => p.call<{ min: number }>({ op: 'warmed' }, 30_000)))
    const min = Math.min(...mins.map((m) => m.min))
    if (min === sent) return
    if (Date.now() > deadline) throw new Error(`only some members joined: lowest warm-up ${min} of ${sent}`)
  }
}

/** One server's figures. */
interface Row {
  runtime: Runtime
  server: string
  role: 'roomcast' | 'baseline'
  mode: 'raw' | 'json'
  n: number
  connectMs: number
  rssBeforeMiB: number
  rssAfterMiB: number
  kibPerMember: number
  rates: (PhaseResult & { rate: number })[]
  closed: PhaseResult & { window: number }
}

/** Servers measured so far: each gets source addresses of its own, as a bound port stays taken while the last server's connection sits in TIME_WAIT. */
let round = 0

async function measure(procs: MemberProcess[], target: Target, mode: 'raw' | 'json'): Promise<Row> {
  round++
  const addressOf = (p: MemberProcess) => `127.2.${round % 256}.${2 + procs.indexOf(p)}`
  const server = await target.start()
  const pid = server.proc.pid as number
  try {
    const first = procs[0] as MemberProcess
    const connect = (p: MemberProcess, count: number, concurrency: number) =>
      p.call<{ ms: number }>(
        { op: 'connect', port: server.port, path: target.path, count, mode, room: 'bench', localAddress: addressOf(p), concurrency },
        600_000,
      )
    // A first small round, so loading and compiling the upgrade path stay out of the memory per member.
    await connect(first, 100, 16)
    await Promise.all(procs.map((p) => p.call({ op: 'close' }, 30_000)))
    await sleep(1000)
    const rss0 = await settledRssKiB(pid)
    const profile = (on: boolean) => PROFILE !== undefined && target.runtime === 'node' && process.kill(pid, 'SIGUSR2') && on
    profile(true)
    const t0 = performance.now()
    const share = (i: number) => Math.floor(N / PROCS) + (i < N % PROCS ? 1 : 0)
    await Promise.all(procs.map((p, i) => connect(p, share(i), Math.max(8, Math.floor(128 / PROCS)))))
    const connectMs = performance.now() - t0
    profile(false)
    await sleep(2000)
    const rss1 = await settledRssKiB(pid, 7, 300)
    console.log(`  ${N} members connected in ${(connectMs / 1000).toFixed(1)} s; RSS ${(rss0 / 1024).toFixed(0)} -> ${(rss1 / 1024).toFixed(0)} MiB`)
    const pub = await open(N, '127.0.0.1', server.port, target.path, mode === 'json' ? 'roomcast.v1' : undefined, () => {})
    try {
      await warmUp(procs, pub, mode)
      const rates: Row['rates'] = []
      for (const rate of RATES) {
        const r = await fixedRate(procs, pub, pid, mode, rate, BROADCASTS)
        rates.push({ rate, ...r })
        console.log(
          `  ${rate}/s x ${BROADCASTS}: to the last member p50 ${r.lastMemberP50.toFixed(1)} p99 ${r.lastMemberP99.toFixed(1)} ms; ` +
            `median delivery ${r.deliveryP50.toFixed(1)} ms; lost ${r.lost} dup ${r.duplicated} reordered ${r.reordered}`,
        )
      }
      profile(true)
      const c = await closedLoop(procs, pub, pid, mode)
      profile(false)
      const closed = { window: WINDOW, ...c }
      console.log(
        `  closed loop, window ${WINDOW}: ${Math.round(c.deliveries / (c.wallMs / 1000)).toLocaleString('en')} deliveries/s, ` +
          `server ${((c.serverCpuMs * 1000) / Math.max(1, c.deliveries)).toFixed(2)} µs/delivery; lost ${c.lost} dup ${c.duplicated} reordered ${c.reordered}`,
      )
      return {
        runtime: target.runtime,
        server: target.name,
        role: target.role,
        mode,
        n: N,
        connectMs,
        rssBeforeMiB: rss0 / 1024,
        rssAfterMiB: rss1 / 1024,
        kibPerMember: (rss1 - rss0) / N,
        rates,
        closed,
      }
    } finally {
      pub.socket.destroy()
    }
  } finally {
    await Promise.all(procs.map((p) => p.call({ op: 'close' }, 30_000).catch(() => {})))
    await server.stop()
  }
}

const fix = (v: number, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : '—')
const int = (v: number) => Math.round(v).toLocaleString('en')

function render(rows: Row[], failures: string[], meta: { started: string; seconds: number; loadBefore: number; loadAfter: number }): string {
  const lines: string[] = []
  const cmd = `npm run bench:members${args.length > 0 ? ' -- ' + args.join(' ') : ''}`
  lines.push('# One room, as many members as one process holds', '')
  lines.push(`Command: \`${cmd}\` · started ${meta.started} · ${meta.seconds.toFixed(0)} s`)
  lines.push(
    `Machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; load average (1 min) before/after: ${meta.loadBefore} / ${meta.loadAfter}`,
  )
  lines.push('')
  lines.push(
    `One room of ${int(N)} members on one server process, the members spread over ${PROCS} member processes, each connecting from its own loopback address ` +
      `(127.2.<server>.2 and up), and one publisher, ${SIZE} B messages. Memory: the server's RSS growth over the ${int(N)} idle members, per member ` +
      `(after a first round of 100). Connect: until every upgrade was answered. To the last member: per broadcast, publish to the last member's receipt, ` +
      `p50/p99 over ${BROADCASTS} broadcasts at each rate; "median delivery" is over every member's receipt. Closed loop: ${CLOSED_MS / 1000} s with ` +
      `${WINDOW} messages in flight. Lost counts every member's missing measured messages, duplicated and reordered included.`,
  )
  lines.push('')
  lines.push(
    '| runtime | server | mode | KiB/member | × bare | connect s | ' +
      RATES.map((r) => `${r}/s: to last p50 / p99 ms · median delivery ms`).join(' | ') +
      ' | closed loop deliveries/s | × bare | server µs/delivery | lost / dup / reordered |',
  )
  lines.push('|---|---|---|--:|--:|--:|' + RATES.map(() => '--:|').join('') + '--:|--:|--:|--:|')
  for (const r of rows) {
    const bare = rows.find((b) => b.runtime === r.runtime && b.role === 'baseline')
    const rate = (x: PhaseResult) => x.deliveries / (x.wallMs / 1000)
    const phases = [...r.rates, r.closed]
    const sum = (f: (x: PhaseResult) => number) => phases.reduce((a, x) => a + f(x), 0)
    const lost = [sum((x) => x.lost), sum((x) => x.duplicated), sum((x) => x.reordered)]
    lines.push(
      `| ${r.runtime} | ${r.server} | ${r.mode} | ${fix(r.kibPerMember)} | ${bare === undefined || bare === r ? '' : fix(r.kibPerMember / bare.kibPerMember, 2) + '×'} | ${fix(r.connectMs / 1000)} | ` +
        r.rates.map((x) => `${fix(x.lastMemberP50)} / ${fix(x.lastMemberP99)} · ${fix(x.deliveryP50)}`).join(' | ') +
        ` | ${int(rate(r.closed))} | ${bare === undefined || bare === r ? '' : fix(rate(r.closed) / rate(bare.closed), 2) + '×'} | ` +
        `${fix((r.closed.serverCpuMs * 1000) / Math.max(1, r.closed.deliveries), 2)} | ${lost.join(' / ')} |`,
    )
  }
  const node = rows.find((r) => r.runtime === 'node' && r.role === 'roomcast')
  const loop = rows.find((r) => r.runtime === 'node' && r.role === 'baseline')
  lines.push('', '## Targets', '')
  if (node !== undefined) {
    lines.push(`- ${node.kibPerMember <= 12 ? 'met' : '**NOT met**'}: Node RSS per member ${fix(node.kibPerMember)} KiB (goal ≤ 12 KiB)`)
    if (loop !== undefined)
      lines.push(
        `- ${node.kibPerMember <= loop.kibPerMember ? 'met' : '**NOT met**'}: Node RSS per member vs the bare ws server's ${fix(loop.kibPerMember)} KiB: ${fix(node.kibPerMember)} KiB (goal ≤)`,
      )
  } else lines.push('- Node roomcast not measured in this run')
  const bad = rows.filter((r) => [...r.rates, r.closed].some((x) => x.lost + x.duplicated + x.reordered + x.strange > 0))
  lines.push(
    bad.length === 0
      ? '- met: nothing lost, duplicated or reordered'
      : `- **NOT met**: lost, duplicated or reordered deliveries for ${bad.map((r) => `${r.runtime} ${r.server}`).join(', ')}`,
  )
  if (failures.length > 0) lines.push('', '## Not measured', '', ...failures.map((f) => `- ${f}`))
  lines.push('', `Machine-readable: \`${OUT.replace(/\.md$/, '.json')}\`.`, '')
  return lines.join('\n')
}

async function main(): Promise<void> {
  const started = new Date().toISOString()
  const t0 = performance.now()
  const loadBefore = loadAverage()
  const procs = Array.from({ length: PROCS }, (_, i) => new MemberProcess(`#${i + 1}`, onDone))
  const rows: Row[] = []
  const failures: string[] = []
  try {
    for (const runtime of RUNTIMES) {
      const group = targets.filter((t) => t.runtime === runtime && SERVERS.includes(t.role))
      // --compare=DIR: Node roomcast from another checkout too (bench/targets.ts compareTarget), in the same run.
      const compare = flag('compare')
      if (compare !== undefined && runtime === 'node' && SERVERS.includes('roomcast')) group.push(compareTarget(compare))
      for (const target of group) {
        for (const mode of target.modes.filter((m): m is 'raw' | 'json' => m !== 'v2' && MODES.includes(m))) {
          console.log(`${runtime} / ${target.name} / ${mode} / N=${N}`)
          try {
            rows.push(await measure(procs, target, mode))
            // After every server, so a run stopped early keeps what it measured.
            write(rows, failures, started, t0, loadBefore)
          } catch (err) {
            const msg = `${runtime} ${target.name} ${mode}: ${(err as Error).message.split('\n')[0]}`
            console.error(`  FAILED ${msg}`)
            failures.push(msg)
          }
        }
      }
    }
  } finally {
    for (const p of procs) p.stop()
  }
  console.log('\n' + write(rows, failures, started, t0, loadBefore))
  if (failures.length > 0) process.exitCode = 1
}

/** Write OUT and its JSON from the rows so far; returns the Markdown. */
function write(rows: Row[], failures: string[], started: string, t0: number, loadBefore: number): string {
  const meta = { started, seconds: (performance.now() - t0) / 1000, loadBefore, loadAfter: loadAverage() }
  writeFileSync(OUT.replace(/\.md$/, '.json'), JSON.stringify({ ...meta, n: N, procs: PROCS, window: WINDOW, rows, failures }, null, 2) + '\n')
  const md = render(rows, failures, meta)
  writeFileSync(OUT, md)
  return md
}

main().catch((err) => {
  console.error(err)
  process.exit(1)
})
