/**
 * The chaos run on a Redis Cluster inside `npm test`, bounded (a minute of faults, about 3,500 messages in
 * three rooms, one per shard): two Node instances and one Deno instance on a cluster the run starts itself
 * (3 masters with a replica each, node timeout 1 s, append-only files fsynced always), every process stopped
 * by its PID. Exactly once, end to end, through a room's master SIGSTOPped for 5 s (failed over while frozen:
 * it wakes and publishes what piled up in its sockets, entries the new master never had), a master SIGKILLed
 * (its replica promoted, the killed node restarted as a replica), a replica SIGKILLed and restarted, a
 * room's slot moved to another master (twice), and client connection cuts. A fixed seed whose plan has every
 * one of those within the minute (CHAOS_SEED overrides it); instance kills, which take another 10 s or so
 * each, are left to the run on one Redis (chaos.test.ts) and `npm run chaos -- --redis cluster`.
 */
import { expect, it } from 'vitest'
import { formatReport, runChaos } from './chaos.ts'

it('delivers every publish exactly once to every member on a Redis Cluster through a master frozen and failed over, master and replica kills, slot moves and cuts', async () => {
  const seed = process.env.CHAOS_SEED === undefined ? 3 : Number(process.env.CHAOS_SEED)
  const report = await runChaos({
    seed,
    durationMs: 60_000,
    perSecond: 6,
    rooms: 3,
    runtimes: ['node', 'node', 'deno'],
    redis: 'cluster',
    without: ['kill-instance'],
    redisStopMs: 8000,
    settleMs: 40_000,
    httpPerSecond: 1,
  })
  console.log(formatReport(report))
  expect(report.violations, formatReport(report)).toEqual([])
  // It ran what it was meant to: every kind of fault, and messages through all of them.
  const kinds = new Set(report.faults.map((f) => f.fault.kind))
  for (const k of ['reset', 'silence', 'cut-to-client', 'cut-to-server', 'stop-master', 'kill-master', 'kill-replica', 'move-slot'])
    expect(kinds, k).toContain(k)
  expect(report.counts.resolved).toBeGreaterThan(2500)
  expect(report.counts.resolved).toBe(report.counts.publishes)
}, 240_000)
