/**
 * Memory per idle connection: start a server of each runtime, read its RSS, open N idle WebSocket
 * connections from this (separate) process, read its RSS again; (after - before) / N.
 *
 *   npx tsx bench/idle-memory.ts                 # node, deno and bun, N=1000
 *   npx tsx bench/idle-memory.ts deno bun 2000   # some runtimes, another N
 *   npx tsx bench/idle-memory.ts --bare          # the bare runtimes (bench/bare/: echo, no Hono, no roomcast)
 *
 * Linux only (reads /proc/PID/status). Every wait is bounded; every process started is stopped by its PID.
 */
import { readFileSync } from 'node:fs'
import WebSocket from 'ws'
import type { ServerHandle } from '../test/support/server.ts'
import { spawnServer } from '../test/support/server.ts'

/** How to start each runtime's server as one process (so its PID is the server's); the same entries as npm start, deno.json and the README. */
const RUNTIMES: Record<string, { cmd: string; args: string[] }> = {
  node: { cmd: process.execPath, args: ['--import', 'tsx', 'adapters/node/server.ts'] },
  deno: { cmd: 'node_modules/.bin/deno', args: ['run', '--allow-net', '--allow-env', 'adapters/deno/server.ts'] },
  bun: { cmd: 'node_modules/.bin/bun', args: ['run', 'adapters/bun/server.ts'] },
}

/** The same runtimes with a twenty-line echo server, to tell the runtime's share from roomcast's. */
const BARE: Record<string, { cmd: string; args: string[] }> = {
  node: { cmd: process.execPath, args: ['bench/bare/node.mjs'] },
  deno: { cmd: 'node_modules/.bin/deno', args: ['run', '--allow-net', '--allow-env', 'bench/bare/deno.js'] },
  bun: { cmd: 'node_modules/.bin/bun', args: ['run', 'bench/bare/bun.js'] },
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** Resident set size of `pid` in bytes. */
function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  if (!m) throw new Error(`no VmRSS for pid ${pid}`)
  return Number(m[1]) * 1024
}

/** Median of `n` RSS samples taken `gapMs` apart, so one allocation spike does not decide the result. */
async function settledRss(pid: number, n = 5, gapMs = 300): Promise<number> {
  const samples: number[] = []
  for (let i = 0; i < n; i++) {
    samples.push(rss(pid))
    await sleep(gapMs)
  }
  const median = samples.sort((a, b) => a - b)[Math.floor(n / 2)]
  if (median === undefined) throw new Error(`settledRss needs at least one sample, got n=${n}`)
  return median
}

function open(url: string, timeoutMs = 10000): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false })
    const t = setTimeout(() => {
      ws.terminate()
      reject(new Error(`no open within ${timeoutMs} ms`))
    }, timeoutMs)
    ws.once('open', () => {
      clearTimeout(t)
      resolve(ws)
    })
    ws.once('error', (err) => {
      clearTimeout(t)
      reject(err)
    })
  })
}

/** Open `n` connections to `url`, `batch` at a time. */
async function openMany(url: string, n: number, batch = 50): Promise<WebSocket[]> {
  const out: WebSocket[] = []
  while (out.length < n) {
    const k = Math.min(batch, n - out.length)
    out.push(...(await Promise.all(Array.from({ length: k }, () => open(url)))))
  }
  return out
}

async function closeAll(sockets: WebSocket[]): Promise<void> {
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve()
          const t = setTimeout(() => {
            ws.terminate()
            resolve()
          }, 3000)
          ws.once('close', () => {
            clearTimeout(t)
            resolve()
          })
          ws.close()
        }),
    ),
  )
}

async function connections(server: ServerHandle, room: string): Promise<number> {
  return ((await (await fetch(`${server.http}/rooms/${room}`)).json()) as { connections: number }).connections
}

interface Result {
  runtime: string
  n: number
  before: number
  after: number
}

async function measure(runtime: string, n: number, bare: boolean): Promise<Result> {
  const spec = (bare ? BARE : RUNTIMES)[runtime]
  if (spec === undefined) throw new Error(`no ${bare ? 'bare ' : ''}server for runtime ${runtime}`)
  const { cmd, args } = spec
  // Limits out of the way: one room holds all N, and nobody is closed as idle while we measure.
  // Every connection comes from 127.0.0.1, so the per-address upgrade limit must not apply here.
  const env = { MAX_ROOM_CONNECTIONS: String(n + 100), IDLE_TIMEOUT_MS: '600000', MAX_UPGRADES_PER_IP: '1000000' }
  const server = await spawnServer({ cmd, args, env, timeoutMs: 60000 })
  const pid = server.proc.pid
  if (pid === undefined) throw new Error(`${runtime} server has no pid`)
  try {
    const room = 'idle'
    const url = `${server.ws}/rooms/${room}`
    // Warm up: the room, the upgrade path and the JIT exist before the baseline, so only connections are counted.
    await closeAll(await openMany(url, 50))
    await sleep(1000)
    const before = await settledRss(pid)
    const sockets = await openMany(url, n)
    const seen = await connections(server, room)
    if (seen !== n) throw new Error(`${runtime}: server counts ${seen} connections, expected ${n}`)
    await sleep(2000)
    const after = await settledRss(pid)
    await closeAll(sockets)
    return { runtime, n, before, after }
  } finally {
    await server.stop()
  }
}

const argv = process.argv.slice(2)
const bare = argv.includes('--bare')
const n = Number(argv.find((a) => /^\d+$/.test(a)) ?? 1000)
const runtimes = argv.filter((a) => !/^\d+$/.test(a) && a !== '--bare')
for (const runtime of runtimes.length > 0 ? runtimes : Object.keys(RUNTIMES)) {
  if (!(runtime in RUNTIMES)) throw new Error(`unknown runtime ${runtime}; use ${Object.keys(RUNTIMES).join(', ')}`)
  const r = await measure(runtime, n, bare)
  const mib = (b: number) => (b / 1024 / 1024).toFixed(1)
  console.log(
    `${r.runtime.padEnd(5)}${bare ? ' (bare)' : ''} N=${r.n}  RSS ${mib(r.before)} MiB -> ${mib(r.after)} MiB  ` +
      `${((r.after - r.before) / r.n / 1024).toFixed(1)} KiB per idle connection`,
  )
}
