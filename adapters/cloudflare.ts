/** Cloudflare Workers entry: the Hono app, with each room in its own Durable Object (`RoomObject`). */
import { getConnInfo } from 'hono/cloudflare-workers'
import type { Health, RoomGateway, RoomStats } from '../src/index.ts'
import { Ops, createApp, readConfig } from '../src/index.ts'
import { JOIN_HEADER, RoomObject } from './cloudflare-room.ts'

export { RoomObject }

interface Env {
  ROOMS: DurableObjectNamespace<RoomObject>
}

/** Reach a room's object by name; the app has refused invalid names with 400 before any of these run. */
function objectGateway(rooms: DurableObjectNamespace<RoomObject>): RoomGateway {
  const room = (name: string) => rooms.get(rooms.idFromName(name))
  return {
    // The object refuses a full room itself, in the same call as the join.
    isFull: () => false,
    upgrade(c, name, join) {
      const headers = new Headers(c.req.raw.headers)
      // set, not append: a header of that name from the client is replaced, never trusted.
      headers.set(JOIN_HEADER, JSON.stringify(join))
      return room(name).fetch(new Request(c.req.url, { headers }))
    },
    stats: async (name) => (await room(name).stats()) as RoomStats,
    publish: (name, kind, body, from) => room(name).publish(kind, body, from),
  }
}

const HEALTH: Health = { ready: true, backend: 'durable-objects' }
let app: ReturnType<typeof createApp> | undefined

export default {
  fetch(request, env, ctx) {
    // [vars] are the same for every request of a deployment, so the app is built once per isolate.
    const vars = env as unknown as Record<string, string | undefined>
    app ??= createApp({
      config: readConfig(vars),
      gateway: objectGateway(env.ROOMS),
      // The client address from CF-Connecting-IP, which Cloudflare sets and a client cannot.
      getConnInfo,
      // Each room's storage is its own object's: nothing shared to be down.
      health: () => HEALTH,
      // Refusals as JSON lines through console.log (Workers Logs); no /metrics: an isolate holds no instance's rooms.
      ops: Ops.fromEnv(vars),
      metricsRoute: false,
    })
    return app.fetch(request, env, ctx)
  },
} satisfies ExportedHandler<Env>
