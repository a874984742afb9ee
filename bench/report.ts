/** The bench's results as data (results.json) and as a Markdown table with the targets checked (RESULTS.md). */
import type { Runtime } from './targets.ts'

export interface Plan {
  quick: boolean
  ns: number[]
  sizes: number[]
  runtimes: Runtime[]
  maxDeliveries: number
  publishMs: number
  latencyRate: number
  latencyCount: number
  latencyMaxN: number
  /** In-flight window: 'default' (bounded in bytes), 'small' (max(4, 40000/N)) or a fixed count. */
  window: string
  /** Latency only, at the latency rate and at every N (no throughput phases). */
  light: boolean
}

/** One measured cell: a server, a mode, N members, one message size. */
export interface Row {
  runtime: Runtime
  server: string
  role: 'roomcast' | 'baseline'
  /** raw and json: protocol v1; v2: one subscription per connection over roomcast.v2. */
  mode: 'raw' | 'json' | 'v2'
  n: number
  size: number
  window: number
  published: number
  deliveries: number
  deliveriesPerSec: number
  lost: number
  duplicated: number
  reordered: number
  strange: number
  /** Server RSS growth per idle member after connecting, KiB. */
  memPerConnKiB: number
  serverUsPerDelivery: number
  clientUsPerDelivery: number
  /** CPU time over wall time during the phase (1 = one core busy). */
  serverUtil: number
  clientUtil: number
  saturated: 'server' | 'client' | 'both' | 'neither'
  /** Publish-to-receive latency at the light fixed rate, ms (N up to latencyMaxN, first size only). */
  p50?: number
  p99?: number
}

export interface Run {
  started: string
  seconds: number
  command: string
  machine: string
  loadBefore: number
  loadAfter: number
  plan: Plan
  rows: Row[]
  failures: string[]
}

/** The runtime's own bare baseline, beside the ws loop. */
export const NATIVE: Record<Runtime, string> = { node: 'ws loop', deno: 'deno loop', bun: 'bun pub/sub' }

function find(rows: Row[], runtime: Runtime, server: string, mode: Row['mode'], n: number, size: number): Row | undefined {
  return rows.find((r) => r.runtime === runtime && r.server === server && r.mode === mode && r.n === n && r.size === size)
}

/** Below this many members, RSS growth is mostly heap sizing noise, so memory per connection is not shown. */
const MEM_MIN_N = 1000

const int = (v: number) => Math.round(v).toLocaleString('en')
const fix = (v: number | undefined, d = 2) => (v === undefined || Number.isNaN(v) ? '—' : v.toFixed(d))
const ratio = (a: Row | undefined, b: Row | undefined) => (a && b ? (a.deliveriesPerSec / b.deliveriesPerSec).toFixed(2) + '×' : '—')

/** The targets of issue 6, each as a line saying met or not. */
function checks(rows: Row[]): string[] {
  const out: string[] = []
  const check = (label: string, value: number | undefined, ok: (v: number) => boolean, unit: string, goal: string) => {
    if (value === undefined || Number.isNaN(value)) out.push(`- ${label}: not measured in this run (goal ${goal})`)
    else out.push(`- ${ok(value) ? 'met' : '**NOT met**'}: ${label}: ${value.toFixed(2)}${unit} (goal ${goal})`)
  }
  const loop = (n: number, size: number) => find(rows, 'node', 'ws loop', 'raw', n, size)
  const rc = (rt: Runtime, mode: Row['mode'], n: number, size: number) => find(rows, rt, 'roomcast', mode, n, size)
  const div = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined ? undefined : a / b)
  check('Node raw, N=1000, 64 B, × ws loop', div(rc('node', 'raw', 1000, 64)?.deliveriesPerSec, loop(1000, 64)?.deliveriesPerSec), (v) => v >= 6, '×', '≥ 6×')
  check('Node json, N=1000, 64 B, × ws loop', div(rc('node', 'json', 1000, 64)?.deliveriesPerSec, loop(1000, 64)?.deliveriesPerSec), (v) => v >= 5, '×', '≥ 5×')
  check(
    'Node memory per idle connection, N=5000, raw, × ws loop',
    div(rc('node', 'raw', 5000, 64)?.memPerConnKiB, loop(5000, 64)?.memPerConnKiB),
    (v) => v <= 1.2,
    '×',
    '≤ 1.2×',
  )
  for (const mode of ['raw', 'json'] as const) {
    const a = rc('node', mode, 1000, 64)?.p99
    const b = loop(1000, 64)?.p99
    check(`Node ${mode} p99 at ${200} msg/s, N=1000, vs ws loop (${fix(b)} ms)`, a, (v) => b !== undefined && v <= b, ' ms', `≤ ws loop`)
  }
  for (const rt of ['node', 'deno', 'bun'] as const) {
    check(
      `${rt} v2 vs v1 json, N=1000, 64 B`,
      div(rc(rt, 'v2', 1000, 64)?.deliveriesPerSec, rc(rt, 'json', 1000, 64)?.deliveriesPerSec),
      (v) => v >= 0.9,
      '×',
      '≥ 0.9× (issue 13)',
    )
  }
  const bun = find(rows, 'bun', NATIVE.bun, 'raw', 1000, 64)
  check('Bun raw, N=1000, 64 B, × bare Bun pub/sub', div(rc('bun', 'raw', 1000, 64)?.deliveriesPerSec, bun?.deliveriesPerSec), (v) => v >= 0.7, '×', '≥ 0.7×')
  const deno = find(rows, 'deno', NATIVE.deno, 'raw', 1000, 64)
  check(
    'Deno raw, N=1000, 64 B, × bare Deno.upgradeWebSocket loop',
    div(rc('deno', 'raw', 1000, 64)?.deliveriesPerSec, deno?.deliveriesPerSec),
    (v) => v >= 1,
    '×',
    '≥ 1×',
  )
  // Issue 16: Node toward uWebSockets (Bun pub/sub) at every room size; meant for --window=small, where little batches.
  const bunAt = (n: number) => find(rows, 'bun', NATIVE.bun, 'raw', n, 64)
  for (const [n, goal] of [
    [1000, 0.8],
    [5000, 0.6],
    [15000, 0.6],
  ] as const) {
    for (const mode of ['raw', 'json'] as const) {
      const a = rc('node', mode, n, 64)
      const b = bunAt(n)
      if (a === undefined && b === undefined) continue
      check(
        `Node ${mode}, N=${n}, 64 B, window ${a?.window ?? b?.window}, × bare Bun pub/sub`,
        div(a?.deliveriesPerSec, b?.deliveriesPerSec),
        (v) => v >= goal,
        '×',
        `≥ ${goal}×`,
      )
    }
  }
  // Issue 16: at light load a lone broadcast reaches the median member at least 20% sooner than from the ws loop.
  for (const mode of ['raw', 'json'] as const) {
    const a = rc('node', mode, 15000, 64)
    const b = loop(15000, 64)
    if (a?.p50 === undefined || b?.p50 === undefined) continue
    check(`Node ${mode} median latency, N=15000, vs ws loop (${fix(b.p50)} ms)`, a.p50 / b.p50, (v) => v <= 0.8, '×', '≤ 0.8× ws loop')
  }
  const bad = rows.filter((r) => r.lost + r.duplicated + r.reordered + r.strange > 0)
  out.push(
    bad.length === 0
      ? '- met: no lost, duplicated or reordered delivery in any cell'
      : `- **NOT met**: lost/duplicated/reordered deliveries in ${bad.length} cell(s)`,
  )
  return out
}

/** RESULTS.md */
export function renderMarkdown(run: Run): string {
  const lines: string[] = []
  lines.push('# roomcast fan-out benchmark', '')
  lines.push(`Command: \`${run.command}\` · started ${run.started} · ${run.seconds.toFixed(0)} s · ${run.machine}`)
  lines.push(
    `Machine load average (1 min) before/after: ${run.loadBefore} / ${run.loadAfter}` +
      (run.loadBefore > 1.5 ? ' — **shared, busy machine: figures are noisy**' : ''),
  )
  lines.push('')
  lines.push(
    `One room, N members and one publisher, all in one separate client process on loopback. Throughput: up to ${int(run.plan.maxDeliveries)} deliveries ` +
      `or ${run.plan.publishMs} ms of publishing per cell, with a bounded in-flight window (messages published but not yet received by every member). ` +
      `In-flight window: ${run.plan.window === 'small' ? 'max(4, 40000/N)' : run.plan.window === 'default' ? 'min(256, max(8, 64000/N)) rounded to a power of two' : run.plan.window}. ` +
      (run.plan.light
        ? `Light load: no throughput phases; ${run.plan.latencyRate} msg/s, ${run.plan.latencyCount} messages at every N, deliveries/s is the offered load. `
        : `Latency: ${run.plan.latencyRate} msg/s, ${run.plan.latencyCount} messages, N ≤ ${run.plan.latencyMaxN}, first size only. `) +
      `Memory: server RSS growth per idle member after connecting (N ≥ ${MEM_MIN_N}). CPU: server from /proc/<pid>/stat (all threads), client from process.cpuUsage. ` +
      '"saturated" names the side that used ≥ 80% of a core; "neither" means both waited (on the window, or on other load on a shared machine).',
  )
  lines.push('')
  lines.push('## Targets', '', ...checks(run.rows), '')
  lines.push('## Results', '')
  lines.push(
    '| runtime | server | mode | N | size | window | deliveries/s | × ws loop | × native | × Bun pub/sub | lost / dup | p50 / p99 ms | KiB/conn | server µs/del | client µs/del | CPU server / client | saturated |',
  )
  lines.push('|---|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|')
  for (const r of run.rows) {
    const loop = find(run.rows, 'node', 'ws loop', 'raw', r.n, r.size)
    const native = r.runtime === 'node' ? undefined : find(run.rows, r.runtime, NATIVE[r.runtime], 'raw', r.n, r.size)
    const bun = r.runtime === 'bun' ? undefined : find(run.rows, 'bun', NATIVE.bun, 'raw', r.n, r.size)
    const isLoop = r.runtime === 'node' && r.server === 'ws loop'
    lines.push(
      `| ${r.runtime} | ${r.server} | ${r.mode} | ${int(r.n)} | ${r.size} B | ${run.plan.light ? '—' : r.window} | ${int(r.deliveriesPerSec)} | ${isLoop ? '1×' : ratio(r, loop)} | ` +
        `${r.runtime === 'node' || r.server === NATIVE[r.runtime] ? '' : ratio(r, native)} | ${ratio(r, bun)} | ${r.lost + r.reordered} / ${r.duplicated} | ` +
        `${r.p99 === undefined ? '' : `${fix(r.p50)} / ${fix(r.p99)}`} | ${r.n >= MEM_MIN_N ? fix(r.memPerConnKiB, 1) : '—'} | ${fix(r.serverUsPerDelivery)} | ${fix(r.clientUsPerDelivery)} | ` +
        `${Math.round(r.serverUtil * 100)}% / ${Math.round(r.clientUtil * 100)}% | ${r.saturated} |`,
    )
  }
  if (run.failures.length > 0) lines.push('', '## Not measured', '', ...run.failures.map((f) => `- ${f}`))
  lines.push('', 'Machine-readable: `bench/results.json`.', '')
  lines.push(
    'Other recorded runs: [RESULTS-small-window.md](RESULTS-small-window.md) (Node against Bun pub/sub with few messages in flight), ' +
      '[RESULTS-light.md](RESULTS-light.md) (a large room at one message a second), [RESULTS-members.md](RESULTS-members.md) ' +
      '(19,000 members on one process), and the hand-recorded [MEASUREMENTS.md](MEASUREMENTS.md).',
    '',
  )
  return lines.join('\n')
}
