/**
 * `npm run chaos [-- --seed N] [-- --minutes M] [-- --rate R] [-- --env NAME=VALUE ...] [-- --target cloudflare] [-- --redis cluster]`:
 * the chaos run from the command line (default 3 minutes at 22 messages a second per publisher, about
 * 24,000 messages, on two Node instances and one Deno instance over Redis), printing the fault schedule as
 * it plays and the report at the end; exit code 1 if a check failed. `--env` adds a setting to every
 * instance (DEDUPE_WINDOW_MS=1 shows the check failing without deduplication). `--target cloudflare` runs
 * wrangler dev instead: connection cuts and wrangler killed and restarted over the same storage.
 * `--redis cluster` (default `single`) puts the instances on a Redis Cluster of the run's own (3 masters with a
 * replica each) with three rooms, one per shard, and the cluster's faults instead of the Redis ones: a room's
 * master SIGKILLed or SIGSTOPped until failed over, its replica SIGKILLed, its slot moved to another master.
 * `--without KIND,KIND` leaves cluster faults out (`--without stop-master`: the one that breaks exactly-once on a
 * cluster, docs/delivery-guarantees.md).
 */
import { formatReport, runChaos } from './chaos.ts'
import { freshSeed } from './random.ts'
import type { Fault } from './schedule.ts'

const args = process.argv.slice(2)
const flag = (name: string): string | undefined => {
  const i = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`))
  if (i < 0) return undefined
  const a = args[i] as string
  return a.includes('=') ? a.slice(a.indexOf('=') + 1) : args[i + 1]
}
const number = (name: string, fallback: number): number => {
  const raw = flag(name)
  const n = raw === undefined ? fallback : Number(raw)
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number`)
  return n
}

const env: Record<string, string> = {}
for (const [i, a] of args.entries()) {
  if (a !== '--env') continue
  const pair = args[i + 1] ?? ''
  const eq = pair.indexOf('=')
  if (eq <= 0) throw new Error('--env takes NAME=VALUE')
  env[pair.slice(0, eq)] = pair.slice(eq + 1)
}
const redis = flag('redis') ?? 'single'
if (redis !== 'single' && redis !== 'cluster') throw new Error('--redis is single or cluster')
const seed = Math.floor(number('seed', freshSeed()))
const minutes = number('minutes', 3)
const report = await runChaos({
  seed,
  durationMs: minutes * 60_000,
  perSecond: number('rate', 22),
  rooms: redis === 'cluster' ? 3 : 2,
  runtimes: flag('target') === 'cloudflare' ? ['cloudflare'] : ['node', 'node', 'deno'],
  redis,
  without: (flag('without') ?? '').split(',').filter((k) => k !== '') as Fault['kind'][],
  redisStopMs: 8000,
  settleMs: 120_000,
  httpPerSecond: 2,
  env,
})
console.log(formatReport(report))
process.exit(report.violations.length === 0 ? 0 : 1)
