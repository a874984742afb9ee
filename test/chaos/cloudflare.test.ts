/**
 * The chaos run against wrangler dev (workerd, a Durable Object per room),
 * bounded: connection cuts (reset, silent both ways, one way only) and
 * wrangler SIGKILLed and restarted over the same storage, while the client
 * library publishes and members listen. The same exact check as on Node and
 * Deno over Redis (chaos.ts); CHAOS_SEED reproduces a run.
 */
import { expect, it } from 'vitest'
import { formatReport, runChaos } from './chaos.ts'
import { freshSeed } from './random.ts'

it('delivers every publish exactly once to every member through cuts and wrangler dev restarts over the same storage', async () => {
  const seed = process.env.CHAOS_SEED === undefined ? freshSeed() : Number(process.env.CHAOS_SEED)
  const report = await runChaos({
    seed,
    durationMs: 45_000,
    perSecond: 5,
    rooms: 2,
    runtimes: ['cloudflare'],
    redisStopMs: 8000,
    settleMs: 40_000,
    httpPerSecond: 1,
  })
  console.log(formatReport(report))
  expect(report.violations, formatReport(report)).toEqual([])
  const kinds = new Set(report.faults.map((f) => f.fault.kind))
  for (const k of ['reset', 'silence', 'cut-to-client', 'cut-to-server', 'kill-instance']) expect(kinds, k).toContain(k)
  expect(report.counts.resolved).toBeGreaterThan(800)
}, 180_000)
