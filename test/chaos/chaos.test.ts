/**
 * The chaos run inside `npm test`, bounded (a minute of faults, about 2,500
 * messages): the same run as `npm run chaos` (chaos.ts), smaller. Exactly
 * once, end to end: every publish settled once, every member got every
 * resolved seq once and in order, and nothing else, through client cuts,
 * instance kills and Redis stopped and restarted. CHAOS_SEED reproduces a run.
 */
import { expect, it } from 'vitest'
import { formatReport, runChaos } from './chaos.ts'
import { freshSeed } from './random.ts'

it('delivers every publish exactly once to every member through cuts, kills and Redis stops and restarts', async () => {
  const seed = process.env.CHAOS_SEED === undefined ? freshSeed() : Number(process.env.CHAOS_SEED)
  const report = await runChaos({
    seed,
    durationMs: 60_000,
    perSecond: 6,
    rooms: 2,
    runtimes: ['node', 'node', 'deno'],
    redisStopMs: 8000,
    settleMs: 40_000,
    httpPerSecond: 1,
  })
  console.log(formatReport(report))
  expect(report.violations, formatReport(report)).toEqual([])
  // It ran what it was meant to: every kind of fault, and messages through all of them.
  const kinds = new Set(report.faults.map((f) => f.fault.kind))
  for (const k of ['reset', 'silence', 'cut-to-client', 'cut-to-server', 'kill-instance', 'stop-redis', 'restart-redis']) expect(kinds, k).toContain(k)
  expect(report.counts.resolved).toBeGreaterThan(1500)
  expect(Object.values(report.counts.heads).reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(report.counts.resolved)
}, 180_000)
