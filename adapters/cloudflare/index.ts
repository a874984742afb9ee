/**
 * `roomcast/cloudflare`: roomcast in a Cloudflare Worker, one Durable Object per room. Mount `rc.app`
 * in the Worker's own Hono app and export `rc.Room` under the class name wrangler.toml binds.
 */
import { env as workerEnv } from 'cloudflare:workers'
import type { Hono } from 'hono'
import { getConnInfo } from 'hono/cloudflare-workers'
import type { AppEnv, Config, Health, Hooks, RoomGateway, RoomStats, RoomcastOptions } from '../../src/index.ts'
import { Rejected, createApp, resolveConfig } from '../../src/index.ts'
import type { RoomSettings } from './room.ts'
import { JOIN_HEADER, RoomObject } from './room.ts'

export type { PublishAnswer, RoomSettings } from './room.ts'
export { JOIN_HEADER, RoomObject } from './room.ts'

/** What a Worker passes to `createRoomcast`. */
export interface CloudflareOptions extends Pick<RoomcastOptions, 'env' | 'config' | 'hooks'> {
  /** The Durable Object binding of the room class in wrangler.toml; default `ROOMS`. */
  binding?: string
}

/** roomcast in a Worker. */
export interface CloudflareRoomcast {
  /** The Hono app: rooms (WebSocket and HTTP), health, the chat page. `app.route('/live', rc.app)` mounts it. */
  readonly app: Hono<AppEnv>
  /** The settings in force (the Worker's [vars] unless `env` or `config` say otherwise). */
  readonly config: Config
  /** The hooks the instance was built with (an empty object when none). */
  readonly hooks: Hooks
  /** The room Durable Object class, with these settings and hooks: export it under the class name wrangler.toml binds. */
  readonly Room: typeof RoomObject
}

/** Reach a room's object by name; the app has refused invalid names with 400 before any of these run. */
function objectGateway(namespace: () => DurableObjectNamespace<RoomObject>): RoomGateway {
  const room = (name: string) => {
    const rooms = namespace()
    return rooms.get(rooms.idFromName(name))
  }
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
    async publish(name, kind, body, from) {
      const answer = await room(name).publish(kind, body, from)
      if (typeof answer === 'number') return answer
      throw new Rejected(answer.rejected, answer.message, answer.status)
    },
  }
}

const HEALTH: Health = { ready: true, backend: 'durable-objects' }

/**
 * Build roomcast for a Worker. Settings come from the Worker's env ([vars]) unless `env` is given,
 * with `config` laid over them; the rooms are reached through the `binding` namespace.
 */
export function createRoomcast(options: CloudflareOptions = {}): CloudflareRoomcast {
  const bindings = workerEnv as Record<string, unknown>
  const config = resolveConfig({ env: options.env ?? (bindings as Record<string, string | undefined>), config: options.config })
  const hooks = options.hooks ?? {}
  const binding = options.binding ?? 'ROOMS'
  const namespace = () => {
    const ns = bindings[binding] as DurableObjectNamespace<RoomObject> | undefined
    if (ns === undefined) throw new Error(`roomcast: no Durable Object binding "${binding}" in this Worker's env (wrangler.toml)`)
    return ns
  }
  const app = createApp({
    config,
    gateway: objectGateway(namespace),
    // The client address from CF-Connecting-IP, which Cloudflare sets and a client cannot.
    getConnInfo,
    // Each room's storage is its own object's: nothing shared to be down.
    health: () => HEALTH,
    hooks,
  })
  const settings: RoomSettings = { config, hooks }
  const Room = class extends RoomObject {
    constructor(ctx: DurableObjectState, env: Record<string, unknown>) {
      super(ctx, env, settings)
    }
  }
  return { app, config, hooks, Room }
}
