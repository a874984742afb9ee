/**
 * The chaos run on a Redis Cluster inside `npm test`, bounded (a minute of faults, about 3,500 messages in
 * three rooms, one per shard): two Node instances and one Deno instance on a cluster the run starts itself
 * (3 masters with a replica each, node timeout 1 s, append-only files fsynced always), every process stopped
 * by its PID. Exactly once, end to end, through a room's master SIGKILLed (its replica promoted, the killed
 * node restarted as a replica), a replica SIGKILLed and restarted, a room's slot moved to another master,
 * an instance SIGKILLed and restarted, and client connection cuts. A fixed seed (its plan has every one of
 * those; CHAOS_SEED overrides it). A master SIGSTOPped past the node timeout is left out: the old master
 * runs what piled up in its sockets before it learns it was failed over, so members can get entries the
 * promoted replica never had (docs/delivery-guarantees.md); `npm run chaos -- --redis cluster` plays it.
 */
import { expect, it } from 'vitest'
import { formatReport, runChaos } from './chaos.ts'

it('delivers every publish exactly once to every member on a Redis Cluster through master and replica kills, a slot move, instance kills and cuts', async () => {
  const seed = process.env.CHAOS_SEED === undefined ? 6 : Number(process.env.CHAOS_SEED)
  const report = await runChaos({
    seed,
    durationMs: 60_000,
    perSecond: 6,
    rooms: 3,
    runtimes: ['node', 'node', 'deno'],
    redis: 'cluster',
    without: ['stop-master'],
    redisStopMs: 8000,
    settleMs: 40_000,
    httpPerSecond: 1,
  })
  console.log(formatReport(report))
  expect(report.violations, formatReport(report)).toEqual([])
  // It ran what it was meant to: every kind of fault, and messages through all of them.
  const kinds = new Set(report.faults.map((f) => f.fault.kind))
  for (const k of ['reset', 'silence', 'cut-to-client', 'cut-to-server', 'kill-instance', 'kill-master', 'kill-replica', 'move-slot'])
    expect(kinds, k).toContain(k)
  expect(kinds).not.toContain('stop-master')
  expect(report.counts.resolved).toBeGreaterThan(2500)
  expect(report.counts.resolved).toBe(report.counts.publishes)
}, 240_000)
