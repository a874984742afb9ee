/**
 * `npm run bench:start`: what starting the production server costs. Runs a start command (default
 * `npm start`) several times on a free port and reports, as medians: the time until it prints its
 * listening line, the time until `GET /healthz` first answers 200, and the resident memory summed over
 * the whole process tree once it is idle (npm, its shell and the server, or whatever the command starts).
 * Then it sends SIGTERM to the command's own process, as a process manager would, and reports whether
 * the whole tree was gone within 5 s.
 *
 *   npm run bench:start                                  # this checkout's `npm start`
 *   npm run bench:start -- --cwd ../other-checkout       # another checkout's `npm start` (before/after)
 *   npm run bench:start -- --runs 9 -- node dist/adapters/node/server.js
 */
import { spawn } from 'node:child_process'
import { readFileSync, readdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { loadAverage, rssKiB } from './proc.ts'

interface Run {
  listeningMs: number
  readyMs: number
  rssKiB: number
  processes: string[]
  /** RSS of each process, in KiB, in the order of `processes`. */
  each: number[]
  /** Processes of the tree still running 5 s after SIGTERM. */
  left: string[]
  /** ms from SIGTERM until no process of the tree was left; null if some were still there after 5 s. */
  goneMs: number | null
  exitCode: number | null
}

const argv = process.argv.slice(2)
const opt = (name: string, fallback: string): string => {
  const i = argv.indexOf(`--${name}`)
  return i >= 0 && argv[i + 1] !== undefined ? (argv[i + 1] as string) : fallback
}
const dashdash = argv.indexOf('--')
const command = dashdash >= 0 ? argv.slice(dashdash + 1) : ['npm', 'start']
const cwd = resolve(opt('cwd', process.cwd()))
const runs = Number(opt('runs', '5'))
const SETTLE_MS = 1000
const READY = /listening on https?:\/\/[^:\s]+:(\d+)/

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** `pid` and all its descendants, from /proc (a process started by the tree is counted wherever it sits). */
function tree(pid: number): number[] {
  const children = new Map<number, number[]>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
      const list = children.get(ppid) ?? []
      list.push(Number(entry))
      children.set(ppid, list)
    } catch {
      // Gone while we looked.
    }
  }
  const out: number[] = []
  const walk = (p: number) => {
    out.push(p)
    for (const c of children.get(p) ?? []) walk(c)
  }
  walk(pid)
  return out
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean).join(' ').slice(0, 80)
  } catch {
    return '?'
  }
}

function alive(pids: number[]): number[] {
  return pids.filter((p) => {
    try {
      // A zombie has exited; it only waits for its parent to read its status.
      return !/\) Z /.test(readFileSync(`/proc/${p}/stat`, 'utf8'))
    } catch {
      return false
    }
  })
}

async function once(): Promise<Run> {
  const t0 = performance.now()
  const [cmd, ...args] = command as [string, ...string[]]
  const proc = spawn(cmd, args, { cwd, env: { ...process.env, PORT: '0', HOST: '127.0.0.1' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)))
  let out = ''
  const port = await new Promise<number>((resolvePort, reject) => {
    const timer = setTimeout(() => reject(new Error(`no listening line within 30 s:\n${out}`)), 30_000)
    const onData = (chunk: Buffer) => {
      out += chunk.toString()
      const m = READY.exec(out)
      if (m) {
        clearTimeout(timer)
        resolvePort(Number(m[1]))
      }
    }
    proc.stdout.on('data', onData)
    proc.stderr.on('data', onData)
    proc.once('exit', (code) => reject(new Error(`exited with ${code} before listening:\n${out}`)))
  })
  const listeningMs = performance.now() - t0
  let readyMs = Number.NaN
  for (let i = 0; i < 1000; i++) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`)
      if (res.status === 200) {
        readyMs = performance.now() - t0
        break
      }
    } catch {
      // Not yet.
    }
    await sleep(5)
  }
  await sleep(SETTLE_MS)
  const pids = tree(proc.pid as number)
  const each = pids.map((p) => {
    try {
      return rssKiB(p)
    } catch {
      // A process without memory of its own (a zombie) adds nothing.
      return 0
    }
  })
  const rss = each.reduce((a, b) => a + b, 0)
  const processes = pids.map(commandLine)
  const tSig = performance.now()
  proc.kill('SIGTERM')
  let goneMs: number | null = null
  while (performance.now() - tSig < 5000) {
    if (alive(pids).length === 0) {
      goneMs = performance.now() - tSig
      break
    }
    await sleep(10)
  }
  const left = alive(pids).map(commandLine)
  // Whatever ignored SIGTERM goes now, so the next run starts clean.
  for (const p of alive(pids)) {
    try {
      process.kill(p, 'SIGKILL')
    } catch {
      // Gone.
    }
  }
  const exitCode = await Promise.race([exited, sleep(1000).then(() => null)])
  return { listeningMs, readyMs, rssKiB: rss, processes, each, left, goneMs, exitCode }
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] as number
}

console.log(`bench:start: \`${command.join(' ')}\` in ${cwd}, ${runs} runs, Node ${process.version}, load ${loadAverage()}`)
const results: Run[] = []
for (let i = 0; i < runs; i++) {
  const r = await once()
  results.push(r)
  console.log(
    `  run ${i + 1}: listening ${r.listeningMs.toFixed(0)} ms, /healthz 200 ${r.readyMs.toFixed(0)} ms, RSS ${(r.rssKiB / 1024).toFixed(1)} MiB over ${r.processes.length} processes; SIGTERM: ${r.goneMs === null ? `still running after 5 s: ${r.left.join(' | ')}` : `all gone in ${r.goneMs.toFixed(0)} ms`}, exit ${r.exitCode}`,
  )
}
const last = results[results.length - 1] as Run
console.log(`processes (RSS of the last run): ${last.processes.map((p, i) => `${p} ${((last.each[i] as number) / 1024).toFixed(1)} MiB`).join(' | ')}`)
console.log(
  `median: listening ${median(results.map((r) => r.listeningMs)).toFixed(0)} ms, ready (first 200 on /healthz) ${median(results.map((r) => r.readyMs)).toFixed(0)} ms, RSS ${(median(results.map((r) => r.rssKiB)) / 1024).toFixed(1)} MiB over ${last.processes.length} processes`,
)
