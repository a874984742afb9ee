/**
 * Cloudflare: the admin API over the registry and the room objects. Listing
 * and the dashboard's figures read the registry alone (no room is woken);
 * a room's members, a disconnect and erasing history are calls to that room's
 * object, which wake it if it sleeps.
 */
import type { AdminBackend, AdminStats, Health } from '../../src/index.ts'
import type { RegistryObject } from './registry.ts'
import { REGISTRY_NAME } from './registry.ts'
import type { RoomObject } from './room.ts'

/** Rooms the dashboard lists as busiest. */
const BUSIEST = 10

/** The admin API's backend for the Worker. */
export function objectAdmin(rooms: DurableObjectNamespace<RoomObject>, registry: DurableObjectNamespace<RegistryObject>, health: () => Health): AdminBackend {
  const room = (name: string) => rooms.get(rooms.idFromName(name))
  const reg = () => registry.get(registry.idFromName(REGISTRY_NAME))
  return {
    rooms: async (limit, after) => reg().list(limit, after),
    room: async (name, memberLimit) => room(name).adminDetail(memberLimit),
    disconnect: async (name, request) => room(name).adminDisconnect(request),
    clearHistory: async (name) => room(name).adminClearHistory(),
    async stats(): Promise<AdminStats> {
      const s = await reg().summary(BUSIEST)
      const h = health()
      return {
        at: Date.now(),
        connections: s.connections,
        rooms: s.rooms,
        messagesPerSecond: s.messagesPerSecond,
        deliveriesPerSecond: s.deliveriesPerSecond,
        messages: s.messages,
        deliveries: s.deliveries,
        backend: { name: h.backend, ready: h.ready },
        // No instance holds the rooms to sample: the registry's figures are as each room last reported.
        series: { intervalMs: 0, points: [] },
        busiest: s.busiest,
        refusals: {},
        closes: {},
        registry: { reports: s.reports, since: s.since },
      }
    },
  }
}
