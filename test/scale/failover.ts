/**
 * A Redis Cluster master killed (SIGKILL) while publishers publish to rooms on
 * every shard: its replica is promoted; publishes in the gap are refused
 * (`unavailable`) or reported `outcome_unknown`, never acked and lost; every
 * member of every room receives every acked seq, in order; delivery on the
 * failed shard resumes by itself; rooms on the other shards see nothing.
 * The scenario runs its own cluster (cluster-node-timeout 1000 ms) and stops it by PID.
 */
import { describe, expect, it } from 'vitest'
import { connect, connectJson, sleep } from '../support/client.ts'
import { uniquePrefix } from '../support/redis.ts'
import type { Shard } from '../support/redis-cluster.ts'
import { OwnCluster, roomOn } from '../support/redis-cluster.ts'
import type { ServerHandle } from '../support/server.ts'
import { Pump, noCrash, recordMessages, recordRaw } from './recorders.ts'
import type { Start } from './suite.ts'
import { SCALE_ENV } from './suite.ts'

/** How long a master may be silent before its replica takes over. */
const NODE_TIMEOUT_MS = 1000

/** Everything watched in one room: json and raw members on both instances, a publisher on each. */
export async function watchRoom(shard: Shard, a: ServerHandle, b: ServerHandle) {
  const room = roomOn(shard)
  const url = (s: ServerHandle) => `${s.ws}/rooms/${room}`
  const members = [await connectJson(url(a)), await connectJson(url(b))]
  const raws = [await connect(url(a)), await connect(url(b))]
  const pumps = [new Pump((await connectJson(url(a))).client, `${room}-A`), new Pump((await connectJson(url(b))).client, `${room}-B`)]
  return {
    shard,
    room,
    members,
    streams: members.map((m) => recordMessages(m.client)),
    raws,
    rawStreams: raws.map(recordRaw),
    pumps,
    clients: [...members.map((m) => m.client), ...raws, ...pumps.map((p) => p.client)],
  }
}

/** A watched room: what every scenario checks once its publishers stopped. */
export type WatchedRoom = Awaited<ReturnType<typeof watchRoom>>

/**
 * Nobody was closed; every publish was answered; one gap-free order, the same for every member, raw and json;
 * every acked publish reached every member with the seq its ack named, a refused one reached nobody, and one whose
 * outcome was unknown is never acked after its error.
 */
export function checkRoom(room: WatchedRoom): void {
  // Nobody was closed, on any shard.
  for (const c of room.clients) expect(c.ws.readyState, `${room.room}: a connection closed`).toBe(c.ws.OPEN)
  for (const p of room.pumps) expect(p.answers.size, `${p.tag}: unanswered publishes`).toBe(p.sentAt.size)
  // One gap-free order, the same for every member, raw and json alike.
  const order = (room.streams[0] ?? []).map((m) => m.data)
  for (const s of room.streams) {
    expect(s.map((m) => m.seq)).toEqual(Array.from({ length: s.length }, (_, i) => i + 1))
    expect(s.map((m) => m.data)).toEqual(order)
  }
  for (const raw of room.rawStreams) expect(raw).toEqual(order)
  // Every acked publish reached every member, with the seq its ack named; a refused one reached nobody;
  // one whose outcome was unknown reached every member or nobody (the streams are one), and is never acked
  // after its error: on a cluster an ack means a replica holds the entry.
  const seqOf = new Map((room.streams[0] ?? []).map((m) => [m.data, m.seq]))
  for (const p of room.pumps) {
    for (const [id, answer] of p.answers) {
      if (answer.seq !== undefined) expect(seqOf.get(id), `${id} was acked as ${answer.seq}`).toBe(answer.seq)
      else if (answer.error === 'unavailable') expect(seqOf.has(id), `${id} was refused, yet delivered`).toBe(false)
      else {
        expect(answer.error).toBe('outcome_unknown')
        expect(p.ackedAfterError.has(id), `${id}: acked after outcome_unknown`).toBe(false)
      }
    }
  }
}

/** Register the failover scenario for instances started by `startA` and `startB`. */
export function failoverScenarios(name: string, startA: Start, startB: Start): void {
  describe(`Redis Cluster failover: ${name}`, () => {
    it('a master killed under publishers: its rooms refuse or say outcome_unknown, never ack and lose; delivery resumes by itself; other shards see nothing', async () => {
      const cluster = await OwnCluster.start({ nodeTimeoutMs: NODE_TIMEOUT_MS })
      let servers: ServerHandle[] = []
      try {
        const shards = await cluster.masters()
        expect(shards.length).toBe(3)
        const env = { ...SCALE_ENV, REDIS_CLUSTER_NODES: cluster.env, REDIS_PREFIX: uniquePrefix('failover') }
        servers = await Promise.all([startA(env), startB(env)])
        const [a, b] = servers as [ServerHandle, ServerHandle]
        const rooms = []
        for (const shard of shards) rooms.push(await watchRoom(shard, a, b))
        const [victim, ...others] = rooms as [Awaited<ReturnType<typeof watchRoom>>, ...Awaited<ReturnType<typeof watchRoom>>[]]
        for (const r of rooms) for (const p of r.pumps) p.start(10)
        await sleep(600)

        const replica = victim.shard.replicas[0] as number
        const promotion = cluster.whenMaster(replica)
        const killedAt = Date.now()
        await cluster.kill(victim.shard.port, 'SIGKILL')
        // In the gap the instance stays ready (other shards serve) and /healthz names the failing shard.
        const failing = new RegExp(`commands to 127\\.0\\.0\\.1:${victim.shard.port} fail since`)
        let seen: { health: Record<string, unknown>; ready: number } | undefined
        for (let i = 0; i < 40 && seen === undefined; i++) {
          const health = (await (await fetch(`${a.http}/healthz`)).json()) as Record<string, unknown>
          if (failing.test(String(health.detail))) seen = { health, ready: (await fetch(`${a.http}/readyz`)).status }
          else await sleep(25)
        }
        expect(seen?.health).toMatchObject({ ok: true, status: 'ok', backend: 'redis-cluster' })
        expect(seen?.ready).toBe(200)
        const slot = (victim.shard.slots[0] as [number, number])[0]
        const promoted = await cluster.waitNewMaster(slot, victim.shard.port)
        const promotedAt = await promotion
        expect(promoted).toBe(replica)

        // Delivery resumes by itself: a publish sent after the kill is acked and reaches every member of the room.
        const sentAfterKill = (id: string, p: Pump) => (p.sentAt.get(id) ?? 0) > killedAt
        let resumed: { acked: number; delivered: number } | undefined
        const deadline = Date.now() + 20_000
        while (resumed === undefined && Date.now() < deadline) {
          await sleep(20)
          const firsts = victim.pumps.flatMap((p) =>
            p
              .acked()
              .filter((id) => sentAfterKill(id, p))
              .map((id) => ({ id, at: p.answers.get(id)?.at ?? 0 })),
          )
          const first = firsts.sort((x, y) => x.at - y.at)[0]
          if (first === undefined) continue
          const arrivals = victim.streams.map((s) => s.find((m) => m.data === first.id)?.at)
          if (arrivals.some((t) => t === undefined)) continue
          resumed = { acked: first.at, delivered: Math.max(...(arrivals as number[])) }
        }
        expect(resumed, 'delivery on the failed shard did not resume within 20 s').toBeDefined()
        const r = resumed as { acked: number; delivered: number }
        console.log(
          `failover (${name}): master ${victim.shard.port} killed; replica ${promoted} promoted ${promotedAt - killedAt} ms later ` +
            `(cluster-node-timeout ${NODE_TIMEOUT_MS} ms); first publish after the kill acked at +${r.acked - killedAt} ms, ` +
            `delivered to every member at +${r.delivered - killedAt} ms (${r.delivered - promotedAt} ms after the replica became master)`,
        )
        await sleep(1000)
        for (const room of rooms) for (const p of room.pumps) await p.stop()
        await sleep(500)

        for (const room of rooms) checkRoom(room)
        // The failed shard's room refused (or could not confirm) what was published in the gap; the others refused nothing.
        const failed = victim.pumps.flatMap((p) => [...p.answers.values()].filter((x) => x.error !== undefined))
        expect(failed.length).toBeGreaterThan(0)
        const count = (code: string) => failed.filter((x) => x.error === code).length
        console.log(`failover (${name}): in the gap ${count('unavailable')} publishes refused unavailable, ${count('outcome_unknown')} outcome_unknown`)
        for (const room of others) {
          for (const p of room.pumps)
            expect(
              [...p.answers.values()].filter((x) => x.error !== undefined),
              `${p.tag} on shard ${room.shard.port}`,
            ).toEqual([])
        }
        // Once the promoted replica serves, nothing is reported failing any more.
        let detail: unknown = 'unread'
        for (let i = 0; i < 100 && detail !== undefined; i++) {
          detail = ((await (await fetch(`${a.http}/healthz`)).json()) as Record<string, unknown>).detail
          if (detail !== undefined) await sleep(50)
        }
        expect(detail).toBeUndefined()
        servers.forEach(noCrash)
        await Promise.all(rooms.flatMap((room) => room.clients.map((c) => c.close())))
      } finally {
        await Promise.all(servers.map((s) => s.stop()))
        await cluster.dispose()
      }
    }, 120_000)
  })
}
