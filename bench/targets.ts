/** The servers the bench starts: roomcast on each runtime and the baselines it is measured against. */
import { existsSync } from 'node:fs'

import type { ServerHandle } from '../test/support/server.ts'
import { spawnServer } from '../test/support/server.ts'

export type Runtime = 'node' | 'deno' | 'bun'

/** One server the bench can start. */
export interface Target {
  runtime: Runtime
  name: string
  role: 'roomcast' | 'baseline'
  modes: ('raw' | 'json' | 'v2')[]
  /** Where members connect. */
  path: string
  start(): Promise<ServerHandle>
}

/** roomcast with limits out of the benchmark's way: one publisher sends far past any per-connection rate. */
export const BENCH_ENV: Record<string, string> = {
  RATE_LIMIT: '1000000000',
  RATE_BURST: '1000000000',
  FLOOD_STRIKES: '1000000000',
  MAX_ROOM_CONNECTIONS: '100000',
  MAX_CONNECTIONS: '100000',
  // Every member connects from 127.0.0.1, thousands a second.
  MAX_UPGRADES_PER_IP: '1000000',
}

// BENCH_NODE_FLAGS: extra flags for the Node servers, for profiling a run (`--cpu-prof --cpu-prof-dir=/tmp/prof`, `--trace-gc`).
// bench/run.ts --profile=DIR sets BENCH_PROFILE_DIR: then the hook that profiles one phase on SIGUSR2 is loaded too.
function nodeFlags(): string[] {
  const flags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter((f) => f !== '')
  flags.push('--import', 'tsx')
  if (process.env.BENCH_PROFILE_DIR !== undefined) flags.push('--import', './bench/profile-hook.ts')
  return flags
}

const node =
  (args: string[], env: Record<string, string> = {}, cwd?: string) =>
  () =>
    spawnServer({ cmd: process.execPath, args: [...nodeFlags(), ...args], env, timeoutMs: 60_000, ...(cwd === undefined ? {} : { cwd }) })

// The binaries npm installed, started directly so the PID we measure is the server's.
const deno =
  (args: string[], env: Record<string, string> = {}) =>
  () =>
    spawnServer({ cmd: 'node_modules/.bin/deno', args: ['run', '--allow-net', '--allow-env', ...args], env, timeoutMs: 60_000 })
const bun =
  (args: string[], env: Record<string, string> = {}) =>
  () =>
    spawnServer({ cmd: 'node_modules/.bin/bun', args: ['run', ...args], env, timeoutMs: 60_000 })

export const targets: Target[] = [
  { runtime: 'node', name: 'ws loop', role: 'baseline', modes: ['raw'], path: '/', start: node(['bench/baselines/ws-loop.ts']) },
  {
    runtime: 'node',
    name: 'roomcast',
    role: 'roomcast',
    modes: ['raw', 'json', 'v2'],
    path: '/rooms/bench',
    start: node(['adapters/node/server.ts'], BENCH_ENV),
  },
  { runtime: 'deno', name: 'deno loop', role: 'baseline', modes: ['raw'], path: '/', start: deno(['bench/baselines/deno-loop.js']) },
  {
    runtime: 'deno',
    name: 'roomcast',
    role: 'roomcast',
    modes: ['raw', 'json', 'v2'],
    path: '/rooms/bench',
    start: deno(['adapters/deno/server.ts'], BENCH_ENV),
  },
  { runtime: 'bun', name: 'bun pub/sub', role: 'baseline', modes: ['raw'], path: '/', start: bun(['bench/baselines/bun-pubsub.js']) },
  { runtime: 'bun', name: 'roomcast', role: 'roomcast', modes: ['raw', 'json', 'v2'], path: '/rooms/bench', start: bun(['adapters/bun/server.ts'], BENCH_ENV) },
]

/**
 * BENCH_COMPARE=DIR (bench/run.ts --compare=DIR): roomcast on Node from another checkout as well (such as
 * `git archive <commit> | tar -x -C DIR`, with node_modules linked), run beside this one's in the same run.
 */
export function compareTarget(dir: string): Target {
  return {
    runtime: 'node',
    name: 'roomcast (compare)',
    role: 'roomcast',
    modes: ['raw', 'json'],
    path: '/rooms/bench',
    // A checkout from before adapters became folders has its server at adapters/node.ts.
    start: node([existsSync(`${dir}/adapters/node/server.ts`) ? 'adapters/node/server.ts' : 'adapters/node.ts'], BENCH_ENV, dir),
  }
}
