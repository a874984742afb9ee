/**
 * The Redis Cluster's harder days, with publishers publishing and members on two instances throughout: a
 * replica dying (one of two, then the last), a master dying with two replicas and coming back as a replica,
 * and a room's slot moved to another master (resharding) while the room is open. In every case nothing acked is
 * lost, every member sees one gap-free order, and delivery carries on by itself. One cluster of 3 masters with
 * 2 replicas each (cluster-node-timeout 1000 ms), stopped by PID.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { keySlot } from '../../adapters/redis/slot.ts'
import { sleep } from '../support/client.ts'
import { uniquePrefix } from '../support/redis.ts'
import type { Shard } from '../support/redis-cluster.ts'
import { OwnCluster, cli } from '../support/redis-cluster.ts'
import type { ServerHandle } from '../support/server.ts'
import type { WatchedRoom } from './failover.ts'
import { checkRoom, watchRoom } from './failover.ts'
import { noCrash } from './recorders.ts'
import { node } from './runtimes.ts'
import { SCALE_ENV } from './suite.ts'

const NODE_TIMEOUT_MS = 1000

/** Errors the room's publishers were answered with, by code. */
function errors(room: WatchedRoom): Record<string, number> {
  const out: Record<string, number> = {}
  for (const p of room.pumps) for (const a of p.answers.values()) if (a.error !== undefined) out[a.error] = (out[a.error] ?? 0) + 1
  return out
}

/** Wait until a publish sent after `since` is acked and has reached every json member; returns when (ms). */
async function resumedAfter(room: WatchedRoom, since: number, timeoutMs = 20_000): Promise<number> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    await sleep(20)
    for (const p of room.pumps) {
      for (const id of p.acked()) {
        if ((p.sentAt.get(id) ?? 0) <= since) continue
        const arrivals = room.streams.map((s) => s.find((m) => m.data === id)?.at)
        if (arrivals.every((t) => t !== undefined)) return Math.max(...(arrivals as number[]))
      }
    }
  }
  throw new Error(`${room.room}: no publish sent after the event was acked and delivered within ${timeoutMs} ms (errors ${JSON.stringify(errors(room))})`)
}

async function role(port: number): Promise<string> {
  return (await cli(port, 'role')).split('\n')[0]?.trim() ?? ''
}

describe('Redis Cluster: replicas dying, a master coming back, resharding an open room', () => {
  let cluster: OwnCluster
  let servers: ServerHandle[] = []
  let a: ServerHandle
  let b: ServerHandle
  let shards: Shard[] = []

  beforeAll(async () => {
    cluster = await OwnCluster.start({ nodeTimeoutMs: NODE_TIMEOUT_MS, replicasPerMaster: 2 })
    shards = await cluster.masters()
    const env = { ...SCALE_ENV, REDIS_CLUSTER_NODES: cluster.env, REDIS_PREFIX: uniquePrefix('edges') }
    servers = await Promise.all([node(env), node(env)])
    ;[a, b] = servers as [ServerHandle, ServerHandle]
  }, 120_000)

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()))
    await cluster?.dispose()
  }, 30_000)

  /** Watch a room on every shard, start their publishers, run `during`, stop them, check every room. */
  async function underLoad(during: (rooms: WatchedRoom[]) => Promise<void>): Promise<WatchedRoom[]> {
    const rooms: WatchedRoom[] = []
    for (const shard of shards) rooms.push(await watchRoom(shard, a, b))
    try {
      for (const r of rooms) for (const p of r.pumps) p.start(10)
      await sleep(500)
      await during(rooms)
      await sleep(500)
      for (const r of rooms) for (const p of r.pumps) await p.stop()
      await sleep(300)
      for (const r of rooms) checkRoom(r)
      servers.forEach(noCrash)
      return rooms
    } finally {
      await Promise.all(rooms.flatMap((r) => r.clients.map((c) => c.close())))
    }
  }

  it('a replica dies, then the shard’s last one: acks go on (or say outcome_unknown), nothing acked is lost, and they rejoin', async () => {
    const shard = shards[0] as Shard
    const [r1, r2] = shard.replicas as [number, number]
    expect(shard.replicas.length).toBe(2)
    let afterFirst: Record<string, number> = {}
    const rooms = await underLoad(async (rooms) => {
      const room = rooms[0] as WatchedRoom
      // One of two replicas gone: the other still confirms every write (WAIT 1).
      await cluster.kill(r1, 'SIGKILL')
      const killed = Date.now()
      await sleep(2500)
      afterFirst = errors(room)
      await resumedAfter(room, killed)
      // The last replica gone: a write can no longer be confirmed by a replica. Until the slot map says the
      // shard has none, a publish is answered outcome_unknown (never acked); then acks go on from the master alone.
      await cluster.kill(r2, 'SIGKILL')
      const lastKilled = Date.now()
      const resumed = await resumedAfter(room, lastKilled + 100)
      console.log(`cluster edges: the shard's last replica killed; acks resumed ${resumed - lastKilled} ms later (${JSON.stringify(errors(room))})`)
      // Both come back and attach to their master again.
      await cluster.restart(r1)
      await cluster.restart(r2)
      await cluster.waitOk()
      const back = Date.now()
      await sleep(1000)
      await resumedAfter(room, back)
    })
    expect(afterFirst).toEqual({})
    // Rooms on the other shards saw nothing at all.
    for (const r of rooms.slice(1)) expect(errors(r), r.room).toEqual({})
    for (const r of rooms.slice(1)) expect(r.streams[0]?.length ?? 0).toBeGreaterThan(50)
  }, 120_000)

  it('a master with two replicas dies: one replica takes over, the other follows it; the old master rejoins as a replica and nobody notices', async () => {
    const shard = shards[1] as Shard
    const slot = (shard.slots[0] as [number, number])[0]
    let promoted = 0
    const rooms = await underLoad(async (rooms) => {
      const room = rooms[1] as WatchedRoom
      await cluster.kill(shard.port, 'SIGKILL')
      const killed = Date.now()
      promoted = await cluster.waitNewMaster(slot, shard.port)
      const resumed = await resumedAfter(room, killed)
      console.log(`cluster edges: master ${shard.port} (2 replicas) killed; ${promoted} took over; delivery resumed ${resumed - killed} ms after the kill`)
      // The old master comes back with its nodes.conf: it becomes a replica of the new master.
      const before = errors(room)
      await cluster.restart(shard.port)
      await cluster.waitOk()
      let r = ''
      for (let i = 0; i < 100 && r !== 'slave'; i++) {
        r = await role(shard.port)
        if (r !== 'slave') await sleep(100)
      }
      expect(r).toBe('slave')
      const rejoined = Date.now()
      await sleep(1500)
      await resumedAfter(room, rejoined)
      // Its return cost nothing: no publish of the room was refused while it rejoined.
      expect(errors(room)).toEqual(before)
    })
    expect(shard.replicas).toContain(promoted)
    const now = (await cluster.masters()).find((m) => m.port === promoted)
    expect(now?.replicas.sort()).toEqual([...shard.replicas.filter((p) => p !== promoted), shard.port].sort())
    for (const r of [rooms[0], rooms[2]] as WatchedRoom[]) expect(errors(r), r.room).toEqual({})
    // Later scenarios see the shards as they are now.
    shards = await cluster.masters()
  }, 120_000)

  it('an open room’s slot moves to another master (resharding): its members on both instances keep receiving, in one gap-free order', async () => {
    let moved = ''
    await underLoad(async (rooms) => {
      const room = rooms[2] as WatchedRoom
      const slot = keySlot(`{${room.room}}`)
      const from = room.shard.port
      const to = (shards.find((s) => s.port !== from) as Shard).port
      const start = Date.now()
      await cluster.moveSlot(slot, from, to)
      const done = Date.now()
      expect(await cluster.masterOf(slot)).toBe(to)
      const resumed = await resumedAfter(room, done)
      moved = `slot ${slot} moved ${from} → ${to} in ${done - start} ms; delivery of publishes sent after it at +${resumed - done} ms (${JSON.stringify(errors(room))})`
      // And publishing carries on well after the move, from both instances.
      await sleep(2500)
      const later = Date.now()
      await resumedAfter(room, later)
      for (const p of room.pumps)
        expect(
          p.acked().some((id) => (p.sentAt.get(id) ?? 0) > later - 2000),
          `${p.tag} after the move`,
        ).toBe(true)
      // Nothing fails any more: /healthz names no shard (the master the slot left may carry no room now, so only
      // the move itself can clear what a command refused mid-move said about it; found by the cluster chaos run).
      for (const s of [a, b]) expect(((await (await fetch(`${s.http}/healthz`)).json()) as { detail?: string }).detail, s.http).toBeUndefined()
    })
    console.log(`cluster edges: ${moved}`)
  }, 120_000)
})
