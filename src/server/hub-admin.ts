/**
 * The admin API over the rooms of one process (Node, Deno, Bun), and through a
 * RoomDirectory (Redis) over the rooms of every instance. It samples the rooms'
 * traffic once a second for rates and the dashboard's charts, and, with a
 * directory, leases this instance's rooms for the listing. Built only when
 * ADMIN_TOKEN is set, so without it none of this runs.
 */
import type { AdminBackend, CodeCounts } from '../admin/admin.ts'
import { encodeCursor } from '../admin/cursor.ts'
import type { RoomAnswer, RoomDirectory, RoomQuestion } from '../admin/directory.ts'
import { TrafficSampler, round } from '../admin/sampler.ts'
import type { Room } from '../room/room.ts'
import type { AdminStats, RoomDetail, RoomListing, RoomPage } from '../wire/admin.ts'
import type { Health } from './health.ts'
import type { Hub } from './hub.ts'

export interface HubAdminOptions {
  health: () => Health
  /** The rooms of every instance (Redis); without it, this process's rooms are all there are. */
  directory?: RoomDirectory | undefined
  counts?: CodeCounts | undefined
  /** Sampling interval of rates and charts; default 1 s. */
  intervalMs?: number
  /** Chart points kept; default 300 (five minutes at 1 s). */
  points?: number
}

/** Rooms the dashboard lists as busiest. */
const BUSIEST = 10

/** An AdminBackend and the timers it runs; `stop` ends them. */
export interface HubAdmin extends AdminBackend {
  stop(): void
}

/** The admin API over `hub`. */
export function hubAdmin(hub: Hub, options: HubAdminOptions): HubAdmin {
  const { directory, health } = options
  const sampler = new TrafficSampler(options.intervalMs ?? 1000, options.points ?? 300)
  /** Rooms leased at least once: a room opened since the last lease is leased at the next tick, not a heartbeat later. */
  const leased = new WeakSet<Room>()
  const lease = (rooms: Room[]) => {
    if (directory === undefined || rooms.length === 0) return
    for (const r of rooms) leased.add(r)
    directory.lease(rooms.map((r) => ({ room: r.name, messagesPerSecond: sampler.rate(r) }))).catch(() => {})
  }
  const tick = () => {
    sampler.tick(Date.now(), hub.openRooms(), hub.connections)
    if (directory !== undefined) lease([...hub.openRooms()].filter((r) => !leased.has(r)))
  }
  const timers = [setInterval(tick, sampler.intervalMs)]
  if (directory !== undefined) {
    lease([...hub.openRooms()])
    timers.push(setInterval(() => lease([...hub.openRooms()]), directory.leaseIntervalMs))
    directory.answerWith((name, q) => answer(hub.peek(name), q))
  }
  // The timers must not keep the process alive by themselves (Node, Bun; Deno's timers are numbers).
  for (const t of timers) (t as { unref?: () => void }).unref?.()

  const summary = async (room: Room): Promise<RoomListing> => {
    const stats = await room.stats()
    return { ...stats, historyBytes: room.historyBytes() ?? 0, messagesPerSecond: sampler.rate(room) }
  }

  return {
    async rooms(limit, after): Promise<RoomPage> {
      if (directory !== undefined) return directory.rooms(limit, after)
      const open = [...hub.openRooms()].filter((r) => after === undefined || r.name > after)
      open.sort((a, b) => (a.name < b.name ? -1 : 1))
      const page = open.slice(0, limit)
      const rooms = await Promise.all(page.map(summary))
      const last = page[page.length - 1]
      return open.length > limit && last !== undefined ? { rooms, cursor: encodeCursor(last.name) } : { rooms }
    },

    async room(name, memberLimit): Promise<RoomDetail> {
      if (directory === undefined) {
        const room = hub.peek(name)
        const stats = await hub.stats(name)
        return { ...stats, members: room?.memberList(memberLimit) ?? [] }
      }
      const [stats, answers] = await Promise.all([directory.stats(name), directory.ask(name, { op: 'members', limit: memberLimit })])
      return { ...stats, members: answers.flatMap((a) => a.members ?? []) }
    },

    async disconnect(name, { code, ...filter }): Promise<number> {
      if (directory === undefined) return hub.peek(name)?.disconnect(filter, code) ?? 0
      const answers = await directory.ask(name, { op: 'disconnect', filter, code })
      return answers.reduce((n, a) => n + (a.disconnected ?? 0), 0)
    },

    async clearHistory(name): Promise<number> {
      if (directory !== undefined) return directory.clearHistory(name)
      const room = hub.peek(name)
      if (room === undefined) return 0
      await room.clearHistory()
      return (await room.stats()).seq
    },

    async stats(): Promise<AdminStats> {
      const now = Date.now()
      const open = [...hub.openRooms()]
      open.sort((a, b) => sampler.rate(b) - sampler.rate(a) || b.size - a.size || (a.name < b.name ? -1 : 1))
      const busiest = await Promise.all(open.slice(0, BUSIEST).map(summary))
      const latest = sampler.latest()
      const h = health()
      const backend = h.detail === undefined ? { name: h.backend, ready: h.ready } : { name: h.backend, ready: h.ready, detail: h.detail }
      return {
        at: now,
        connections: hub.connections,
        rooms: hub.roomCount,
        messagesPerSecond: round(latest?.messagesPerSecond ?? 0),
        deliveriesPerSecond: round(latest?.deliveriesPerSecond ?? 0),
        messages: sampler.messages,
        deliveries: sampler.deliveries,
        backend,
        series: { intervalMs: sampler.intervalMs, points: sampler.series() },
        busiest,
        refusals: options.counts?.refusals() ?? {},
        closes: options.counts?.closes() ?? {},
      }
    },

    stop() {
      for (const t of timers) clearInterval(t)
    },
  }
}

/** This instance's answer to a question about one of its rooms (none open: nothing to tell or close). */
function answer(room: Room | undefined, q: RoomQuestion): RoomAnswer {
  if (q.op === 'members') return { members: room?.memberList(q.limit) ?? [] }
  return { disconnected: room?.disconnect(q.filter, q.code) ?? 0 }
}
